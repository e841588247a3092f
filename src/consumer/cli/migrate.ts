import 'reflect-metadata';
import { parseEnvironment } from '../../config/environment';
import { runMigrateCli } from '../../database/migrate-command';
import { consumerEnvironmentSchema } from '../config/consumer-environment';
import { CONSUMER_SCHEMA } from '../consumer-schema';
import { misspelledSettings } from '../../config/misspelled-settings';

for (const warning of misspelledSettings(process.env, Object.keys(consumerEnvironmentSchema.shape))) process.stderr.write(`warning: ${warning}\n`);

// Only what the command needs: a migrate step's environment may hold the database and nothing else.
runMigrateCli(CONSUMER_SCHEMA, () => {
  const { CONSUMER_DATABASE_URL, MIGRATION_LOCK_WAIT_MS, DATABASE_STATEMENT_REPLY_TIMEOUT_MS } = parseEnvironment(
    consumerEnvironmentSchema.pick({ CONSUMER_DATABASE_URL: true, MIGRATION_LOCK_WAIT_MS: true, DATABASE_STATEMENT_REPLY_TIMEOUT_MS: true }),
    process.env,
  );
  return { url: CONSUMER_DATABASE_URL, waitMs: MIGRATION_LOCK_WAIT_MS, replyTimeoutMs: DATABASE_STATEMENT_REPLY_TIMEOUT_MS };
});
