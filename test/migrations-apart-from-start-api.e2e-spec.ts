import { testMigrationsApartFromStart } from './support/migrations-apart-from-start';

/**
 * The API's migrations as a deploy step of their own: DATABASE_MIGRATIONS=check at start, and
 * `npm run migrate:api` (test/support/migrations-apart-from-start.ts, shared with the consumer's file).
 */
testMigrationsApartFromStart('api');
