import { SequenceEventsFunction1765400000000 } from '../migrations/1765400000000-SequenceEventsFunction';
import { dropDatabase } from '../src/database/ensure-database';
import { migrationNames } from '../src/database/migration-check';
import { migrations } from '../migrations';
import { urlWithoutSecrets } from '../src/logging/url-without-secrets';
import { runBuiltCli } from './support/built-cli';
import { createTestDatabase, migrationsAround, withMigrationsOn } from './support/test-database';
import { Client } from 'pg';

/**
 * `npm run rebuild-projections` on a database whose migrations are not all applied (a new build
 * run before the deploy's migrate step): it applies none, as a start with DATABASE_MIGRATIONS=check
 * does not, and refuses at once in one line naming what is pending and the command that applies
 * it, instead of failing deep in a rebuild (at `sequence_events`, created by the migration the
 * database lacks) after writing to it.
 */

const CLI = 'dist/src/cli/rebuild-projections.js';
const databases: string[] = [];

afterAll(async () => {
  for (const url of databases) await dropDatabase(url).catch(() => undefined);
});

async function query<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

/** What a rebuild could have written: every relation of the public schema, the checkpoints and the recorded migrations. */
const writable = async (url: string) => ({
  relations: await query(url, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace ORDER BY relname`),
  checkpoints: await query(url, 'SELECT * FROM subscription_checkpoints ORDER BY subscription_id'),
  migrations: await query(url, 'SELECT * FROM migrations ORDER BY id'),
});

it('on a database behind the build refuses: exit 1, one line naming the pending migrations and `npm run migrate:api`, nothing written', async () => {
  const url = await createTestDatabase();
  databases.push(url);
  const { before } = migrationsAround(SequenceEventsFunction1765400000000);
  await withMigrationsOn(url, before, (dataSource) => dataSource.runMigrations());
  const pending = migrationNames(migrations).filter((name) => !migrationNames(before).includes(name));
  const written = await writable(url);

  const refused = await runBuiltCli(CLI, url, 'order-summaries');

  expect(refused).toEqual({
    code: 1,
    stdout: '',
    stderr:
      `rebuild failed: the api schema of database ${urlWithoutSecrets(url)} is behind this build: ${pending.length} migration${pending.length === 1 ? '' : 's'} pending (${pending.join(', ')}); ` +
      '`npm run rebuild-projections` applies none: apply them with `npm run migrate:api` (same DATABASE_URL), then run it again\n',
  });
  expect(await writable(url)).toEqual(written);
});

it('on a database that does not exist refuses in one line, and does not create it', async () => {
  const url = await createTestDatabase();
  await dropDatabase(url);

  const refused = await runBuiltCli(CLI, url, 'order-summaries');

  expect(refused).toEqual({
    code: 1,
    stdout: '',
    stderr:
      `rebuild failed: database ${urlWithoutSecrets(url)} does not exist; \`npm run rebuild-projections\` creates nothing: ` +
      'create it and apply its migrations with `npm run migrate:api` (same DATABASE_URL), then run it again\n',
  });
  const name = new URL(url).pathname.slice(1);
  expect(await query(new URL('/postgres', url).toString(), `SELECT datname FROM pg_database WHERE datname = '${name}'`)).toEqual([]);
});
