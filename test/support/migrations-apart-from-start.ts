import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { migrations } from '../../migrations';
import { consumerMigrations } from '../../migrations/consumer';
import { dropDatabase, ensureDatabaseExists } from '../../src/database/ensure-database';
import { MIGRATION_LOCKS, type MigrationLockKey } from '../../src/database/migration-lock';
import { urlWithoutSecrets } from '../../src/logging/url-without-secrets';
import { ApiProcess } from './api-process';
import { ConsumerProcess } from './consumer-process';
import { exitOnItsOwn } from './exit-status';
import { eventually } from './test-app';
import { testAuthorization } from './test-auth';
import { TEST_RABBITMQ_URL, uniqueBrokerPrefix } from './test-broker';
import { TEST_DATABASE_PREFIX, TEST_SERVER_URL } from './test-database';

/**
 * Shared by test/migrations-apart-from-start-*.e2e-spec.ts: migrations as a deploy step of their
 * own (src/database/migration-check.ts, migrate-command.ts). An app started with
 * DATABASE_MIGRATIONS=check applies and creates nothing, and refuses to start while its schema is
 * behind; `npm run migrate:api` / `npm run migrate:consumer` apply them apart from a start, under
 * the same migration lock. Each test on a database of its own, named `eda_test_<run>_<hex>` (swept by the global teardown if a file crashes).
 */

const ROOT = path.resolve(__dirname, '../..');
const prefix = uniqueBrokerPrefix();

interface Started {
  readonly url: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: string;
  readonly stdout: string;
  signal(signal: NodeJS.Signals): void;
}

const apiEnv = (url: string, env: Record<string, string>) => ({
  DATABASE_URL: url,
  BROKER_PREFIX: prefix,
  RABBITMQ_URL: TEST_RABBITMQ_URL,
  RELAY_ENABLED: 'false',
  REACTIONS_ENABLED: 'false',
  ...env,
});

const APPS = [
  {
    app: 'api',
    lock: MIGRATION_LOCKS.api,
    known: migrations,
    urlVariable: 'DATABASE_URL',
    cli: 'dist/src/cli/migrate.js',
    command: 'npm run migrate:api',
    spawn: (url: string, env: Record<string, string>): Promise<Started> => ApiProcess.spawn(apiEnv(url, env)),
    start: (url: string, env: Record<string, string>): Promise<Started> => ApiProcess.start(apiEnv(url, env)),
    /** A request that writes (a user, its event, the outbox): the status it gets. */
    serve: async ({ url }: Started) =>
      (
        await fetch(`${url}/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await testAuthorization()) },
          body: JSON.stringify({ email: `${randomUUID()}@example.com`, name: 'Migrated Apart' }),
        })
      ).status,
    served: 201,
  },
  {
    app: 'consumer',
    lock: MIGRATION_LOCKS.consumer,
    known: consumerMigrations,
    urlVariable: 'CONSUMER_DATABASE_URL',
    cli: 'dist/src/consumer/cli/migrate.js',
    command: 'npm run migrate:consumer',
    spawn: (url: string, env: Record<string, string>): Promise<Started> => ConsumerProcess.spawn(prefix, env, { databaseUrl: url }),
    start: (url: string, env: Record<string, string>): Promise<Started> => ConsumerProcess.start(prefix, env, { databaseUrl: url }),
    /** A request that reads a read model: the status it gets. */
    serve: async ({ url }: Started) => (await fetch(`${url}/notifications?customerId=${randomUUID()}`, { headers: await testAuthorization() })).status,
    served: 200,
  },
] as const;

const databases: string[] = [];
const roles: string[] = [];
const processes: Started[] = [];
const holders: Client[] = [];


/** The URL of a database of the test's that does not exist yet (dropped after the file). */
function missingDatabase(): string {
  const url = `${TEST_SERVER_URL}/${TEST_DATABASE_PREFIX}${process.env.EDA_TEST_RUN ?? 'adhoc'}_${randomBytes(4).toString('hex')}`;
  databases.push(url);
  return url;
}

async function emptyDatabase(): Promise<string> {
  const url = missingDatabase();
  await ensureDatabaseExists(url);
  return url;
}

/**
 * A role of the test's as production runs an app: it may read and write the rows of the database
 * at `url` (migrated by its owner) and create nothing (no CREATE on the schema or the database).
 * Its URL on that database.
 */
async function roleWithoutDdl(url: string): Promise<string> {
  const role = `${TEST_DATABASE_PREFIX}role_${process.env.EDA_TEST_RUN ?? 'adhoc'}_${randomBytes(4).toString('hex')}`;
  roles.push(role);
  await query(`${TEST_SERVER_URL}/postgres`, `CREATE ROLE "${role}" LOGIN PASSWORD 'rows-only'`);
  // REVOKE: PostgreSQL before 15 lets every role create in the public schema.
  for (const statement of [
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC',
    `GRANT USAGE ON SCHEMA public TO "${role}"`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${role}"`,
    `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "${role}"`,
  ]) {
    await query(url, statement);
  }
  const roleUrl = new URL(url);
  roleUrl.username = role;
  roleUrl.password = 'rows-only';
  return roleUrl.toString();
}

async function query<T>(url: string, sql: string, parameters: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, parameters)).rows as T[];
  } finally {
    await client.end();
  }
}

const databaseExists = async (url: string) =>
  (await query<{ n: number }>(`${TEST_SERVER_URL}/postgres`, 'SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [new URL(url).pathname.slice(1)]))[0].n === 1;

/** Every relation (table, index, sequence, view) of the public schema, and every extension: what a start could have created. */
const createdObjects = async (url: string) =>
  query<{ name: string }>(
    url,
    `SELECT relname AS name FROM pg_class WHERE relnamespace = 'public'::regnamespace UNION ALL SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'`,
  );

const recordedMigrations = (url: string) => query<{ id: number; name: string }>(url, 'SELECT id, name FROM migrations ORDER BY id');

/** The names of `known` in the order a run applies them: by the timestamp that ends each name. */
const runOrder = (known: ReadonlyArray<{ name: string }>) => known.map(({ name }) => name).sort((a, b) => Number(a.slice(-13)) - Number(b.slice(-13)));

/**
 * The app's migrate command from the build, exactly as its npm script runs it, against `url`.
 * `timeoutMs`: killed after this long (its code then NaN), for a command that may hang.
 */
function migrate(
  app: (typeof APPS)[number],
  url: string,
  env: Record<string, string> = {},
  args: string[] = [],
  { timeoutMs = 0, live }: { timeoutMs?: number; live?: { stderr: string } } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [path.join(ROOT, app.cli), ...args],
      { env: { ...process.env, NODE_OPTIONS: '', [app.urlVariable]: url, ...env }, timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
    // What it printed so far, for a test that acts once a line came.
    if (live) child.stderr?.on('data', (chunk: Buffer | string) => (live.stderr += chunk.toString()));
  });
}

/** A TCP server on a free port of 127.0.0.1 that accepts connections and never answers: a PostgreSQL that hangs, or a proxy in front of a vanished one. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The app's migrate command run through npm as an operator types it: `npm run migrate:api <args>`. */
function npmRun(app: (typeof APPS)[number], url: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [, , script] = app.command.split(' ');
  return new Promise((resolve) => {
    execFile('npm', ['run', script, ...args], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', [app.urlVariable]: url } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

/** The JSON log lines of a process's output (stdout and stderr alike). */
const logLines = (output: string) =>
  output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { level: string; msg: string; err?: unknown });

async function spawnCheck(app: (typeof APPS)[number], url: string, env: Record<string, string> = {}): Promise<Started> {
  const started = await app.spawn(url, { DATABASE_MIGRATIONS: 'check', LOG_LEVEL: 'warn', ...env });
  processes.push(started);
  return started;
}

async function startCheck(app: (typeof APPS)[number], url: string): Promise<Started> {
  const started = await app.start(url, { DATABASE_MIGRATIONS: 'check', LOG_LEVEL: 'log' });
  processes.push(started);
  return started;
}

/** A session of the test's holding `lock` on `url`, as another process's migration run would. */
async function holdLock(url: string, lock: MigrationLockKey): Promise<Client> {
  const holder = new Client({ connectionString: url, application_name: 'test holder' });
  holder.on('error', () => undefined);
  await holder.connect();
  holders.push(holder);
  await holder.query('SELECT pg_advisory_lock($1::bigint)', [lock.key]);
  return holder;
}

const migrationsTableExists = async (url: string) => (await query<{ exists: boolean }>(url, `SELECT to_regclass('migrations') IS NOT NULL AS exists`))[0].exists;

/**
 * The tests of DATABASE_MIGRATIONS=check and the migrate command of one app (`name`), in the
 * calling e2e file: one file per app, so that each stays short and the two run side by side.
 */
export function testMigrationsApartFromStart(name: (typeof APPS)[number]['app']): void {
  const app = APPS.find((candidate) => candidate.app === name);
  if (!app) throw new Error(`no app ${name}`);

  afterAll(async () => {
    for (const started of processes) {
      started.signal('SIGKILL');
      await started.exited;
    }
    await Promise.all(holders.map((holder) => holder.end().catch(() => undefined)));
    for (const url of databases) await dropDatabase(url).catch(() => undefined);
    // After the databases, which hold the roles' privileges.
    for (const role of roles) await query(`${TEST_SERVER_URL}/postgres`, `DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
  });

  describe(`the ${app.app}`, () => {
    const names = runOrder(app.known);

    it(`with DATABASE_MIGRATIONS=check, refuses to start on an empty database: exit 1, one line naming every pending migration and \`${app.command}\`, nothing written`, async () => {
      const url = await emptyDatabase();

      const started = await spawnCheck(app, url);
      expect(await exitOnItsOwn(started, { timeoutMs: 20_000 })).toEqual({ code: 1, signal: null });

      expect(logLines(started.output)).toEqual([
        expect.objectContaining({
          level: 'fatal',
          msg:
            `the ${app.lock.schema} schema of database ${urlWithoutSecrets(url)} is behind this build: ${names.length} migrations pending (${names.join(', ')}); ` +
            `DATABASE_MIGRATIONS=check applies none at start: apply them with \`${app.command}\` (same ${app.urlVariable}), then start again`,
        }),
      ]);
      expect(logLines(started.output)[0].err).toBeUndefined();
      expect(await createdObjects(url)).toEqual([]);
    });

    it('with DATABASE_MIGRATIONS=check, refuses to start on a missing database, and does not create it', async () => {
      const url = missingDatabase();

      const started = await spawnCheck(app, url);
      expect(await exitOnItsOwn(started, { timeoutMs: 20_000 })).toEqual({ code: 1, signal: null });

      expect(logLines(started.output)).toEqual([
        expect.objectContaining({
          level: 'fatal',
          msg: `database ${urlWithoutSecrets(url)} does not exist; DATABASE_MIGRATIONS=check creates nothing at start: create it and apply its migrations with \`${app.command}\` (same ${app.urlVariable}), then start again`,
        }),
      ]);
      expect(await databaseExists(url)).toBe(false);
    });

    it(`\`${app.command}\` creates a missing database, applies every migration and prints each; run again, it applies nothing`, async () => {
      const url = missingDatabase();

      const first = await migrate(app, url);
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout.trim().split('\n')).toEqual([
        ...names.map((name) => `applied ${name}`),
        `the ${app.lock.schema} schema of ${urlWithoutSecrets(url)}: ${names.length} applied now, ${names.length} applied in all, latest ${names.at(-1)}`,
      ]);
      const recorded = await recordedMigrations(url);
      expect(recorded.map(({ name }) => name)).toEqual(names);

      const second = await migrate(app, url);
      expect(second).toMatchObject({ code: 0 });
      expect(second.stdout.trim().split('\n')).toEqual([
        `the ${app.lock.schema} schema of ${urlWithoutSecrets(url)}: up to date, nothing to apply; ${names.length} applied in all, latest ${names.at(-1)}`,
      ]);
      expect(await recordedMigrations(url)).toEqual(recorded);
    });

    it(`\`${app.command} --check\` without \`--\` (npm keeps --check for itself and runs the script without it) refuses, exit 2, creating and applying nothing`, async () => {
      const url = missingDatabase();

      const typed = await npmRun(app, url, ['--check']);

      expect(typed.code).toBe(2);
      expect(typed.stderr).toContain(`npm took --check as a setting of its own, not as an argument of this command, which would have run without it; nothing done`);
      expect(typed.stdout).not.toMatch(/applied/);
      expect(await databaseExists(url)).toBe(false);
    });

    it(`\`${app.command}\` on a database whose name the URL percent-encodes (%23, %3F, %2F) creates and migrates the one database the driver connects to, which --check then finds`, async () => {
      const url = `${missingDatabase()}%23q%3Fx%2Fy`;
      databases.push(url);
      const name = new URL(url).pathname.slice(1);

      const ran = await migrate(app, url);

      expect(ran).toMatchObject({ code: 0 });
      expect(await migrate(app, url, {}, ['--check'])).toMatchObject({ code: 0 });
      // The driver (pg) decodes a database name with decodeURI, which leaves %23, %3F, %2F as they are.
      expect(await databaseExists(url)).toBe(true);
      expect(await query(`${TEST_SERVER_URL}/postgres`, 'SELECT datname FROM pg_database WHERE datname = $1', [decodeURIComponent(name)])).toEqual([]);
    });

    it(`\`${app.command}\` and its --check fail within DATABASE_STATEMENT_REPLY_TIMEOUT_MS on a server that accepts connections and never answers, one line each, instead of hanging`, async () => {
      const silent = await silentServer();
      try {
        const url = `postgres://migrator:s3cret-pw@127.0.0.1:${silent.port}/${TEST_DATABASE_PREFIX}silent`;
        for (const args of [[], ['--check']]) {
          const startedAt = Date.now();
          const failed = await migrate(app, url, { DATABASE_STATEMENT_REPLY_TIMEOUT_MS: '1000' }, args, { timeoutMs: 20_000 });

          expect(failed).toMatchObject({ code: 1, stdout: '' });
          expect(failed.stderr).toMatch(new RegExp(`^migrate failed: PostgreSQL at 127\\.0\\.0\\.1:${silent.port} could not be reached within 1000 ms \\(DATABASE_STATEMENT_REPLY_TIMEOUT_MS\\): .*\n$`));
          expect(failed.stderr).not.toContain('s3cret-pw');
          expect(Date.now() - startedAt).toBeLessThan(10_000);
        }
      } finally {
        await silent.close();
      }
    });

    it(`\`${app.command} -- --check\` says what is pending and exits 1 while anything is, creating and applying nothing; 0 once all is applied`, async () => {
      const url = missingDatabase();
      const check = (target: string) => migrate(app, target, {}, ['--check']);
      const where = `the ${app.lock.schema} schema of ${urlWithoutSecrets(url)}`;

      expect(await check(url)).toMatchObject({ code: 1, stdout: `${where}: the database does not exist; ${app.command} creates it and applies all ${names.length} migrations\n` });
      expect(await databaseExists(url)).toBe(false);

      await query(`${TEST_SERVER_URL}/postgres`, `CREATE DATABASE "${new URL(url).pathname.slice(1)}"`);
      expect(await check(url)).toMatchObject({ code: 1, stdout: `${where}: ${names.length} pending (${names.join(', ')}); ${app.command} applies them\n` });
      expect(await createdObjects(url)).toEqual([]);

      expect(await migrate(app, url)).toMatchObject({ code: 0 });
      expect(await check(url)).toMatchObject({ code: 0, stdout: `${where}: up to date, nothing pending; ${names.length} applied in all, latest ${names.at(-1)}\n` });
    });

    it(`\`${app.command}\` takes the migration lock a start takes: gives up after MIGRATION_LOCK_WAIT_MS naming the holder (exit 1, nothing applied), and runs once it is free`, async () => {
      const url = await emptyDatabase();
      const holder = await holdLock(url, app.lock);

      const refused = await migrate(app, url, { MIGRATION_LOCK_WAIT_MS: '300' });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^migrate failed: gave up after waiting 0\\.\\d s for the migration lock of the ${app.lock.schema} schema, held by 'test holder'`, 'm'));
      expect(refused.stdout).toBe('');
      expect(await migrationsTableExists(url)).toBe(false);

      const live = { stderr: '' };
      const waiting = migrate(app, url, { MIGRATION_LOCK_WAIT_MS: '60000' }, [], { live });
      // Released once the command has said it waits, naming the holder: a fixed pause could end
      // before a loaded machine got the command that far, and it then found the lock free; a
      // release as soon as its first try was refused could come before it looked up the holder.
      await eventually(async () => expect(live.stderr).toMatch(/another process is migrating/), 30_000);
      expect(await migrationsTableExists(url)).toBe(false);
      await holder.end();
      const ran = await waiting;
      expect(ran.code).toBe(0);
      expect(ran.stderr).toMatch(new RegExp(`another process is migrating the ${app.lock.schema} schema \\(the lock is held by 'test holder'`));
      expect(ran.stderr).toMatch(new RegExp(`waited \\d+ ms for the migration lock of the ${app.lock.schema} schema; migrating now`));
      expect((await recordedMigrations(url)).map(({ name }) => name)).toEqual(names);
    });

    it(`after \`${app.command}\` ran, starts with DATABASE_MIGRATIONS=check and says it checked`, async () => {
      const url = missingDatabase();
      expect(await migrate(app, url)).toMatchObject({ code: 0 });
      const recorded = await recordedMigrations(url);

      const started = await startCheck(app, url);

      // Said once the app listens, which its probe may see first.
      await eventually(async () =>
        expect(started.stdout).toContain(
          `database ${urlWithoutSecrets(url)}: migrations checked (DATABASE_MIGRATIONS=check), none pending, ${names.length} applied in all, latest ${names.at(-1)}`,
        ),
      );
      expect(started.stdout).not.toContain('migrations ran');
      expect(await recordedMigrations(url)).toEqual(recorded);
    });

    it(`starts with DATABASE_MIGRATIONS=check under a role without DDL rights once \`${app.command}\` ran as the owner, and serves`, async () => {
      const url = missingDatabase();
      expect(await migrate(app, url)).toMatchObject({ code: 0 });
      const appUrl = await roleWithoutDdl(url);
      await expect(query(appUrl, 'CREATE TABLE h_migrate_probe (id int)')).rejects.toMatchObject({ code: '42501' }); // insufficient_privilege

      const started = await startCheck(app, appUrl);

      expect(await app.serve(started)).toBe(app.served);
      if (app.app === 'api') {
        // A projection rebuild creates and drops tables: refused at once, nothing started.
        const refused = await fetch(`${started.url}/admin/projections/order-summaries/rebuilds`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await testAuthorization()) },
          body: '{}',
        });
        expect(refused.status).toBe(409);
        expect(await refused.json()).toMatchObject({
          code: 'REBUILD_NOT_PERMITTED',
          detail: expect.stringMatching(/^the database role \S+ lacks CREATE on schema public and ownership of order_summaries \(owned by postgres\), which a rebuild of order-summaries needs/),
        });
        expect(await query(url, 'SELECT 1 FROM projection_rebuild_jobs')).toEqual([]);
      }
    });

    it('a database that records a migration this build does not know: the migrate command leaves it with a warning, a start with check starts with one', async () => {
      const url = missingDatabase();
      expect(await migrate(app, url)).toMatchObject({ code: 0 });
      // What a newer version's run records; `timestamp` is the one ending its name.
      await query(url, `INSERT INTO migrations (timestamp, name) VALUES (9999999999999, 'FromANewerVersion9999999999999')`);
      const ahead = `the ${app.lock.schema} schema of database ${urlWithoutSecrets(url)} records 1 migration this build does not know (FromANewerVersion9999999999999), applied by a newer version`;

      const again = await migrate(app, url);
      expect(again).toMatchObject({ code: 0 });
      expect(again.stderr).toContain(`warning: ${ahead}; this build leaves them as they are`);

      const started = await startCheck(app, url);
      expect(logLines(started.stdout)).toContainEqual(expect.objectContaining({ level: 'warn', msg: expect.stringContaining(`${ahead}: starting anyway`) }));
    });

    it(`a migration recorded by hand between two of the build's (its row after them all): \`${app.command}\` and its --check name the same latest one, the build's, and do not call it a newer version's`, async () => {
      const url = missingDatabase();
      expect(await migrate(app, url)).toMatchObject({ code: 0 });
      const between = Number(names[0].slice(-13)) + 1; // after the first, before the second
      await query(url, `INSERT INTO migrations (timestamp, name) VALUES ($1, $2)`, [between, `ByHand${between}`]);
      const where = `the ${app.lock.schema} schema of ${urlWithoutSecrets(url)}`;

      const ran = await migrate(app, url);
      const checked = await migrate(app, url, {}, ['--check']);

      expect(ran).toMatchObject({ code: 0, stdout: `${where}: up to date, nothing to apply; ${names.length + 1} applied in all, latest ${names.at(-1)}\n` });
      expect(checked).toMatchObject({ code: 0, stdout: `${where}: up to date, nothing pending; ${names.length + 1} applied in all, latest ${names.at(-1)}\n` });
      // Older than the build's latest: not a newer version's, whatever else it is.
      expect(checked.stderr).toContain(`this build does not know (ByHand${between}), older than its latest (${names.at(-1)}): renamed or removed since it was applied, or recorded by hand`);
    });

    it('with DATABASE_MIGRATIONS=check, waits for a migration run in progress (the lock), and gives up after MIGRATION_LOCK_WAIT_MS naming its holder', async () => {
      const url = missingDatabase();
      expect(await migrate(app, url)).toMatchObject({ code: 0 });
      await holdLock(url, app.lock);

      const started = await spawnCheck(app, url, { MIGRATION_LOCK_WAIT_MS: '500' });
      expect(await exitOnItsOwn(started, { timeoutMs: 20_000 })).toEqual({ code: 1, signal: null });

      expect(logLines(started.output)).toEqual([
        expect.objectContaining({
          level: 'fatal',
          msg: expect.stringMatching(new RegExp(`^gave up after waiting 0\\.\\d s for the migration lock of the ${app.lock.schema} schema, held by 'test holder'`)),
        }),
      ]);
    });
  });
}
