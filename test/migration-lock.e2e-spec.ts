import { spawn } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { DataSource, type QueryRunner } from 'typeorm';
import { migrations } from '../migrations';
import { consumerMigrations } from '../migrations/consumer';
import { dropDatabase } from '../src/database/ensure-database';
import { MIGRATION_LOCKS, MigrationLockLostError, MigrationLockTimeoutError, runMigrationsUnderLock, type MigrationLockKey } from '../src/database/migration-lock';
import { CLIENT_CONNECTION_CHECK_INTERVAL_MS } from '../src/database/pool-options';
import { StatementReplyTimeoutError } from '../src/database/statement-reply-timeout';
import { ApiProcess } from './support/api-process';
import { ConsumerProcess } from './support/consumer-process';
import { exitOf, exitOnItsOwn } from './support/exit-status';
import { eventually } from './support/test-app';
import { deleteTopology, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import type { TcpProxy } from './support/tcp-proxy';
import { createTestDatabase, startDatabaseProxy } from './support/test-database';

/**
 * Migration runs of processes started at once against one database (src/database/migration-lock.ts):
 * one migrates while the others wait on its advisory lock, then find nothing pending.
 */

const ROOT = path.resolve(__dirname, '..');
/** The lock is polled every 250 ms (migration-lock.ts): the poll the cut meets may start that much later. */
const LOCK_POLL_SLACK_MS = 250;
const SETS = [
  { name: 'api', lock: MIGRATION_LOCKS.api, migrations },
  { name: 'consumer', lock: MIGRATION_LOCKS.consumer, migrations: consumerMigrations },
] as const;

const databases: string[] = [];
afterAll(async () => {
  for (const url of databases) await dropDatabase(url).catch(() => undefined);
});

async function freshDatabase(): Promise<string> {
  const url = await createTestDatabase();
  databases.push(url);
  return url;
}

/** Runs `work` on a DataSource of its own (a process's pool) over `known` on `url`, closed after. */
async function withDataSource<T>(url: string, known: readonly (new () => unknown)[], work: (dataSource: DataSource) => Promise<T>): Promise<T> {
  const dataSource = new DataSource({ type: 'postgres', url, migrations: [...known], migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** What a migration run logs, line by line. */
function logLines(): { lines: string[]; log(line: string): void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
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

/** Every column, index (with its validity) and constraint of the public schema, as text: two databases migrated alike have the same. */
async function schemaOf(url: string): Promise<string[]> {
  const rows = await query<{ line: string }>(
    url,
    `SELECT format('column %s.%s %s %s', table_name, column_name, data_type, is_nullable) AS line FROM information_schema.columns WHERE table_schema = 'public'
     UNION ALL
     SELECT format('index %s valid=%s', pg_get_indexdef(i.indexrelid), i.indisvalid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
     UNION ALL
     SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint WHERE connamespace = 'public'::regnamespace
     ORDER BY 1`,
  );
  return rows.map(({ line }) => line);
}

/** A session of the test's holding the migration lock `lock` on `url` until it ends, named like a migrator's. */
async function holdLock(url: string, lock: MigrationLockKey): Promise<Client> {
  const holder = new Client({ connectionString: url, application_name: 'test holder' });
  holder.on('error', () => undefined); // the database dropped under it after a failed test
  await holder.connect();
  await holder.query('SELECT pg_advisory_lock($1::bigint)', [lock.key]);
  return holder;
}

/** The backend pids holding `lock` in `url`'s database. */
async function holdersOf(url: string, lock: MigrationLockKey): Promise<number[]> {
  const rows = await query<{ pid: number }>(
    url,
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND classid::text::bigint = ($1::bigint >> 32) & 4294967295 AND objid::text::bigint = $1::bigint & 4294967295`,
    [lock.key],
  );
  return rows.map(({ pid }) => pid);
}

/** A migration named `name` (its timestamp, the last 13 digits, places it) that sleeps `seconds` in its transaction. */
function sleepingMigration(name: string, seconds: number): new () => unknown {
  return class {
    name = name;
    async up(db: QueryRunner): Promise<void> {
      await db.query(`SELECT pg_sleep(${seconds})`);
    }
    async down(): Promise<void> {}
  };
}

const sleepingNow = async (url: string) => (await query(url, `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(%'`)).length > 0;

const migrationsTableExists = async (url: string) => (await query<{ exists: boolean }>(url, `SELECT to_regclass('migrations') IS NOT NULL AS exists`))[0].exists;

describe.each(SETS)('the $name migrations', ({ lock, migrations: known }) => {
  let reference: string[];

  beforeAll(async () => {
    const url = await freshDatabase();
    await withDataSource(url, known, (dataSource) => dataSource.runMigrations());
    reference = await schemaOf(url);
  });

  it('two runs started at once on a fresh database both succeed; each migration is applied once and the schema is complete', async () => {
    const url = await freshDatabase();
    const logs = [logLines(), logLines()];

    const applied = await Promise.all(
      logs.map((logger) => withDataSource(url, known, (dataSource) => runMigrationsUnderLock(dataSource, { lock, waitMs: 60_000, logger }))),
    );

    // One run applied every migration, the other (after its wait, if it had to) found none pending.
    expect(applied.flat().map(({ name }) => name).sort()).toEqual(known.map((migration) => migration.name).sort());
    const recorded = await query<{ name: string; times: number }>(url, `SELECT name, count(*)::int AS times FROM migrations GROUP BY name ORDER BY name`);
    expect(recorded).toEqual(known.map((migration) => ({ name: migration.name, times: 1 })).sort((a, b) => a.name.localeCompare(b.name)));
    expect(await schemaOf(url)).toEqual(reference);
    expect(await holdersOf(url, lock)).toEqual([]);
  });

  it("a run waiting for the lock does not hold back the holder's CREATE INDEX CONCURRENTLY (which waits for every older snapshot)", async () => {
    const url = await freshDatabase();
    // The holder sleeps first, so the other surely waits while the holder builds its index.
    const first = sleepingMigration('SleepFirst1000000000000', 1);
    const holding = withDataSource(url, [first, ...known], (dataSource) => runMigrationsUnderLock(dataSource, { lock, waitMs: 0, logger: { log: () => undefined } }));
    await eventually(async () => expect(await holdersOf(url, lock)).toHaveLength(1));
    const { lines, log } = logLines();
    const waiting = withDataSource(url, known, (dataSource) => runMigrationsUnderLock(dataSource, { lock, waitMs: 20_000, logger: { log } }));

    const [applied, appliedAfterWait] = await Promise.all([holding, waiting]);
    expect(applied).toHaveLength(known.length + 1);
    expect(appliedAfterWait).toEqual([]);
    expect(lines.at(-1)).toMatch(/^waited \d+ ms for the migration lock/);
    expect(await query(url, `SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid`)).toEqual([]);
  }, 40_000);

  it('a run that finds the lock held waits until it is free, and says who held it and how long it waited', async () => {
    const url = await freshDatabase();
    const holder = await holdLock(url, lock);
    const { lines, log } = logLines();
    let settled = false;
    const run = withDataSource(url, known, (dataSource) => runMigrationsUnderLock(dataSource, { lock, waitMs: 60_000, logger: { log }, waitReportMs: 200 })).finally(
      () => (settled = true),
    );

    await eventually(async () => expect(lines.join('\n')).toMatch(/still waiting for the migration lock/));
    expect(settled).toBe(false);
    expect(await migrationsTableExists(url)).toBe(false);
    expect(lines[0]).toMatch(new RegExp(`^another process is migrating the ${lock.schema} schema \\(the lock is held by 'test holder' \\(backend pid \\d+, connected .+\\)\\): waiting up to 60 s`));

    await holder.end();
    const applied = await run;
    expect(applied).toHaveLength(known.length);
    const waited = /^waited (\d+) ms for the migration lock of the \w+ schema; migrating now$/.exec(lines.at(-1) ?? '');
    expect(waited).not.toBeNull();
    expect(Number(waited?.[1])).toBeGreaterThanOrEqual(200);
  });

  it('a run that waits longer than its bound gives up with an error naming the holder, and migrates nothing', async () => {
    const url = await freshDatabase();
    const holder = await holdLock(url, lock);
    try {
      const run = withDataSource(url, known, (dataSource) => runMigrationsUnderLock(dataSource, { lock, waitMs: 300, logger: { log: () => undefined } }));
      await expect(run).rejects.toThrow(MigrationLockTimeoutError);
      await expect(run).rejects.toThrow(/gave up after waiting 0\.\d s for the migration lock of the \w+ schema, held by 'test holder'.*MIGRATION_LOCK_WAIT_MS/);
      expect(await migrationsTableExists(url)).toBe(false);
    } finally {
      await holder.end();
    }
  });
});

it('a run that holds no lock does not stop the other schema set from migrating on the same database', async () => {
  const url = await freshDatabase();
  const holder = await holdLock(url, MIGRATION_LOCKS.api);
  try {
    const applied = await withDataSource(url, consumerMigrations, (dataSource) =>
      runMigrationsUnderLock(dataSource, { lock: MIGRATION_LOCKS.consumer, waitMs: 300, logger: { log: () => undefined } }),
    );
    expect(applied).toHaveLength(consumerMigrations.length);
  } finally {
    await holder.end();
  }
});

describe('a run whose PostgreSQL vanishes without closing its connections (a proxy that stops forwarding)', () => {
  const REPLY_TIMEOUT_MS = 1000;
  /** What the failure may take beyond the bound on a loaded machine. */
  const SLACK_MS = 2500;
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startDatabaseProxy();
  });
  afterEach(() => proxy.release());
  afterAll(async () => {
    await proxy?.close();
  });

  it('fails within DATABASE_STATEMENT_REPLY_TIMEOUT_MS while it waits for the lock, instead of polling a silent server for ever', async () => {
    const url = await freshDatabase();
    const holder = await holdLock(url, MIGRATION_LOCKS.api);
    try {
      const { lines, log } = logLines();
      await withDataSource(proxy.rewrite(url), migrations, async (dataSource) => {
        const run = runMigrationsUnderLock(dataSource, { lock: MIGRATION_LOCKS.api, waitMs: 60_000, logger: { log }, replyTimeoutMs: REPLY_TIMEOUT_MS });
        run.catch(() => undefined);
        await eventually(async () => expect(lines.join('\n')).toMatch(/another process is migrating the api schema/));
        proxy.blackHole();
        const cutAt = Date.now();
        await expect(run).rejects.toThrow(StatementReplyTimeoutError);
        expect(Date.now() - cutAt).toBeLessThan(REPLY_TIMEOUT_MS + LOCK_POLL_SLACK_MS + SLACK_MS);
      });
      expect(await migrationsTableExists(url)).toBe(false);
    } finally {
      await holder.end();
    }
  });

  it("fails within it when the lock's session cannot connect, instead of hanging the start", async () => {
    const url = await freshDatabase();
    await withDataSource(proxy.rewrite(url), migrations, async (dataSource) => {
      proxy.blackHole();
      const startedAt = Date.now();
      await expect(runMigrationsUnderLock(dataSource, { lock: MIGRATION_LOCKS.api, waitMs: 60_000, logger: { log: () => undefined }, replyTimeoutMs: REPLY_TIMEOUT_MS })).rejects.toThrow(
        /timeout/i,
      );
      expect(Date.now() - startedAt).toBeLessThan(REPLY_TIMEOUT_MS + SLACK_MS);
    });
    expect(await migrationsTableExists(url)).toBe(false);
  });
});

it("a run whose lock's session ends mid-run fails, saying another process may have migrated meanwhile", async () => {
  const url = await freshDatabase();
  const run = withDataSource(url, [...consumerMigrations, sleepingMigration('SleepLast9999999999999', 2)], (dataSource) =>
    runMigrationsUnderLock(dataSource, { lock: MIGRATION_LOCKS.consumer, waitMs: 0, logger: { log: () => undefined } }),
  );
  run.catch(() => undefined);
  await eventually(async () => expect(await sleepingNow(url)).toBe(true));
  const [holder] = await holdersOf(url, MIGRATION_LOCKS.consumer);
  await query(url, 'SELECT pg_terminate_backend($1)', [holder]);

  await expect(run).rejects.toThrow(MigrationLockLostError);
  await expect(run).rejects.toThrow(/the migration lock of the consumer schema was lost while its migrations ran/);
});

/**
 * A migrator as a process of its own (from the build): the migrations and, last, one that sleeps
 * `SLOW_SECONDS` in its transaction, so the test can SIGKILL it while it holds the lock mid-run.
 */
const SLOW_SECONDS = 20;
const SLOW_MIGRATOR = `
const { DataSource } = require('typeorm');
const { migrations } = require(${JSON.stringify(path.join(ROOT, 'dist/migrations/index.js'))});
const { MIGRATION_LOCKS, runMigrationsUnderLock } = require(${JSON.stringify(path.join(ROOT, 'dist/src/database/migration-lock.js'))});
const { pgPoolOptions } = require(${JSON.stringify(path.join(ROOT, 'dist/src/database/pool-options.js'))});
class SlowMigration9999999999999 { name = 'SlowMigration9999999999999'; async up(db) { await db.query('SELECT pg_sleep(${SLOW_SECONDS})'); } async down() {} }
const dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, extra: pgPoolOptions(2), migrations: [...migrations, SlowMigration9999999999999], migrationsTransactionMode: 'each' });
dataSource.initialize().then(() => runMigrationsUnderLock(dataSource, { lock: MIGRATION_LOCKS.api, waitMs: 0, logger: { log: () => undefined } }));
`;

it("a migrator killed mid-run leaves the lock free, and its statement is cancelled: the next run goes on at once and applies what the killed one did not commit", async () => {
  const url = await freshDatabase();
  const child = spawn(process.execPath, ['-e', SLOW_MIGRATOR], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: url }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = exitOf(child);
  try {
    // Mid-run: the lock held, the slow migration sleeping in its transaction.
    await eventually(async () => {
      expect(child.exitCode).toBeNull();
      expect(await holdersOf(url, MIGRATION_LOCKS.api)).toHaveLength(1);
      expect(await sleepingNow(url)).toBe(true);
    }, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`the migrator did not reach its slow migration: ${String(error)}\n${stderr}`);
  }
  child.kill('SIGKILL');
  expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
  // The server notices the dead client within client_connection_check_interval and cancels its
  // statement, instead of letting it run on for the rest of its SLOW_SECONDS with its locks.
  await eventually(async () => expect(await sleepingNow(url)).toBe(false), CLIENT_CONNECTION_CHECK_INTERVAL_MS + 3_000);

  // Far less than the sleep the killed run's statement had still to go: the lock went with its session.
  const began = Date.now();
  const applied = await withDataSource(url, migrations, (dataSource) =>
    runMigrationsUnderLock(dataSource, { lock: MIGRATION_LOCKS.api, waitMs: 5_000, logger: { log: () => undefined } }),
  );
  expect(Date.now() - began).toBeLessThan(5_000);
  expect(applied).toEqual([]);
  expect(await query(url, `SELECT name FROM migrations WHERE name = 'SlowMigration9999999999999'`)).toEqual([]);
  expect((await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM migrations`))[0].n).toBe(migrations.length);
}, 60_000);

describe('the built processes', () => {
  const prefix = uniqueBrokerPrefix();
  const processes: Array<{ signal(signal: NodeJS.Signals): void; exited: Promise<unknown> }> = [];

  afterAll(async () => {
    for (const started of processes) {
      started.signal('SIGKILL');
      await started.exited;
    }
    await deleteTopology(testTopology(prefix)).catch(() => undefined);
  });

  const apiEnv = (url: string, extra: Record<string, string> = {}) => ({
    DATABASE_URL: url,
    BROKER_PREFIX: prefix,
    RABBITMQ_URL: TEST_RABBITMQ_URL,
    RELAY_ENABLED: 'false',
    REACTIONS_ENABLED: 'false',
    LOG_LEVEL: 'log',
    ...extra,
  });

  it('two API processes started at once on a fresh database both start, with every migration applied once', async () => {
    const url = await freshDatabase();
    const apis = await Promise.all([ApiProcess.start(apiEnv(url)), ApiProcess.start(apiEnv(url))]);
    processes.push(...apis);

    for (const api of apis) {
      await eventually(async () => expect(api.stdout).toContain(`migrations ran, ${migrations.length} applied in all, latest ${migrations.at(-1)?.name}`));
      // Neither started on a second attempt: TypeOrmModule retries a failed initialization, which
      // would hide a run that lost the race (its migration failed, the retry found them applied).
      expect(api.output).not.toMatch(/Unable to connect to the database/);
    }
    const recorded = await query<{ times: number }>(url, `SELECT count(*)::int AS times FROM migrations GROUP BY name`);
    expect(recorded).toHaveLength(migrations.length);
    expect(recorded.every(({ times }) => times === 1)).toBe(true);
  });

  it('an API process that finds the lock held logs its wait, then starts when it is free', async () => {
    const url = await freshDatabase();
    const holder = await holdLock(url, MIGRATION_LOCKS.api);
    const api = await ApiProcess.spawn(apiEnv(url));
    processes.push(api);
    try {
      await eventually(async () => expect(api.stdout).toMatch(/another process is migrating the api schema \(the lock is held by 'test holder'/), 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await holder.end();
    }
    await eventually(async () => expect(api.stdout).toContain(`migrations ran, ${migrations.length} applied`), 20_000);
    expect(api.stdout).toMatch(/waited \d{3,} ms for the migration lock of the api schema; migrating now/);
  });

  it('an API process that waits longer than MIGRATION_LOCK_WAIT_MS fails to start at once, naming the holder, and is not retried', async () => {
    const url = await freshDatabase();
    const holder = await holdLock(url, MIGRATION_LOCKS.api);
    try {
      const api = await ApiProcess.spawn(apiEnv(url, { MIGRATION_LOCK_WAIT_MS: '500' }));
      const began = Date.now();
      const { code } = await exitOnItsOwn(api, { timeoutMs: 20_000 });
      expect(code).toBe(1);
      // TypeOrmModule's retries (3 s apart) would have taken far longer.
      expect(Date.now() - began).toBeLessThan(8_000);
      expect(api.output).toMatch(/gave up after waiting 0\.\d s for the migration lock of the api schema, held by 'test holder'/);
      expect(api.output).not.toMatch(/Retrying/);
    } finally {
      await holder.end();
    }
  });

  it('a consumer process that finds the lock held logs its wait, then starts when it is free', async () => {
    const first = await ConsumerProcess.start(prefix, { LOG_LEVEL: 'log' });
    processes.push(first);
    databases.push(first.databaseUrl);
    const holder = await holdLock(first.databaseUrl, MIGRATION_LOCKS.consumer);
    const another = await ConsumerProcess.spawnAnother(first);
    processes.push(another);
    try {
      await eventually(async () => expect(another.stdout).toMatch(/another process is migrating the consumer schema \(the lock is held by 'test holder'/), 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(another.stdout).not.toContain('migrations ran');
    } finally {
      await holder.end();
    }
    await eventually(async () => expect(another.stdout).toContain(`migrations ran, ${consumerMigrations.length} applied`), 20_000);
    expect(another.stdout).toMatch(/waited \d{3,} ms for the migration lock of the consumer schema; migrating now/);
  });
});
