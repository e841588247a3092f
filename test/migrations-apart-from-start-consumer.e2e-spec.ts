import { testMigrationsApartFromStart } from './support/migrations-apart-from-start';

/**
 * The consumer's migrations as a deploy step of their own: DATABASE_MIGRATIONS=check at start, and
 * `npm run migrate:consumer` (test/support/migrations-apart-from-start.ts, shared with the API's file).
 */
testMigrationsApartFromStart('consumer');
