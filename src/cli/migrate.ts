import 'reflect-metadata';
import { environmentSchema, parseEnvironment } from '../config/environment';
import { API_SCHEMA } from '../database/api-schema';
import { runMigrateCli } from '../database/migrate-command';
import { misspelledSettings } from '../config/misspelled-settings';

for (const warning of misspelledSettings(process.env, Object.keys(environmentSchema.shape))) process.stderr.write(`warning: ${warning}\n`);

// Only what the command needs: a migrate step's environment may hold the database and nothing else.
runMigrateCli(API_SCHEMA, () => {
  const { DATABASE_URL, MIGRATION_LOCK_WAIT_MS, DATABASE_STATEMENT_REPLY_TIMEOUT_MS } = parseEnvironment(
    environmentSchema.pick({ DATABASE_URL: true, MIGRATION_LOCK_WAIT_MS: true, DATABASE_STATEMENT_REPLY_TIMEOUT_MS: true }),
    process.env,
  );
  return { url: DATABASE_URL, waitMs: MIGRATION_LOCK_WAIT_MS, replyTimeoutMs: DATABASE_STATEMENT_REPLY_TIMEOUT_MS };
});
