import { migrateCommand } from '../database/migrate-command';
import { prepareDatabaseAtStart } from '../database/migration-check';
import { consumerEnvironmentSchema } from './config/consumer-environment';
import { CONSUMER_SCHEMA } from './consumer-schema';

const NO_DATABASE = 'postgres://consumer:pw@db.internal:5432';

describe("the consumer's schema", () => {
  it('is named by the variable the consumer reads its database from', () => {
    expect(CONSUMER_SCHEMA.urlVariable).toBe('CONSUMER_DATABASE_URL');
    expect(Object.keys(consumerEnvironmentSchema.shape)).toContain(CONSUMER_SCHEMA.urlVariable);
  });

  it.each(['run', 'check'] as const)('a start with DATABASE_MIGRATIONS=%s refuses a URL that names no database, naming CONSUMER_DATABASE_URL', async (migrations) => {
    await expect(prepareDatabaseAtStart(CONSUMER_SCHEMA, { url: NO_DATABASE, migrations, waitMs: 0, replyTimeoutMs: 0, logger: { log: () => undefined, warn: () => undefined } })).rejects.toThrow(
      /^CONSUMER_DATABASE_URL names no database$/,
    );
  });

  it.each([[[]], [['--check']]])('`npm run migrate:consumer %j` refuses a URL that names no database, naming CONSUMER_DATABASE_URL', async (args) => {
    const out = { stdout: () => undefined, stderr: () => undefined };
    await expect(migrateCommand(CONSUMER_SCHEMA, () => ({ url: NO_DATABASE, waitMs: 0, replyTimeoutMs: 0 }), args, out)).rejects.toThrow(/^CONSUMER_DATABASE_URL names no database$/);
  });
});
