import { consumerMigrations } from '../../migrations/consumer';
import type { SchemaSet } from '../database/migration-check';
import { MIGRATION_LOCKS } from '../database/migration-lock';

/** The consumer's schema, in its own database (CONSUMER_DATABASE_URL): migrated at start, or by `npm run migrate:consumer` (DATABASE_MIGRATIONS=check). */
export const CONSUMER_SCHEMA: SchemaSet = {
  lock: MIGRATION_LOCKS.consumer,
  migrations: consumerMigrations,
  urlVariable: 'CONSUMER_DATABASE_URL',
  migrateCommand: 'npm run migrate:consumer',
};
