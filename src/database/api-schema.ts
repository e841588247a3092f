import { migrations } from '../../migrations';
import type { SchemaSet } from './migration-check';
import { MIGRATION_LOCKS } from './migration-lock';

/** The API's schema, in the database at DATABASE_URL: migrated at start, or by `npm run migrate:api` (DATABASE_MIGRATIONS=check). */
export const API_SCHEMA: SchemaSet = {
  lock: MIGRATION_LOCKS.api,
  migrations,
  urlVariable: 'DATABASE_URL',
  migrateCommand: 'npm run migrate:api',
};
