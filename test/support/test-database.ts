import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { dropDatabase, ensureDatabaseExists } from '../../src/database/ensure-database';
import { TcpProxy } from './tcp-proxy';

/** Server that test databases are created on; never the database a running instance uses. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';
export const TEST_DATABASE_PREFIX = 'eda_test_';

/** A TcpProxy in front of the test server (TEST_SERVER_URL): connect through `proxy.rewrite(url)` of a database on it. */
export function startDatabaseProxy(): Promise<TcpProxy> {
  const url = new URL(TEST_SERVER_URL);
  return TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
}

/** A fresh database with a unique name; drop it with `dropDatabase(url)`. */
export async function createTestDatabase(): Promise<string> {
  const name = `${TEST_DATABASE_PREFIX}${process.env.EDA_TEST_RUN ?? 'adhoc'}_${randomBytes(4).toString('hex')}`;
  const url = `${TEST_SERVER_URL}/${name}`;
  await ensureDatabaseExists(url);
  return url;
}

/** Runs `work` with a DataSource that knows `known` (a slice of the migrations, in order) on the database at `url`; its own connections, closed after. */
export async function withMigrationsOn<T>(url: string, known: typeof migrations, work: (dataSource: DataSource) => Promise<T>): Promise<T> {
  const dataSource = new DataSource({ type: 'postgres', url, migrations: known, migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * Undoes the migrations applied after `migration` (the later ones first: the last by id, as TypeORM's
 * undoLastMigration picks it), then `migration` itself: how a test of one migration's down goes back
 * to the schema before it once newer migrations exist. Throws what a down throws, and leaves the
 * migrations undone before it undone.
 */
export async function undoMigrationsDownTo(dataSource: DataSource, migration: { name: string }): Promise<void> {
  for (;;) {
    const [last]: Array<{ name: string } | undefined> = await dataSource.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
    if (!last) throw new Error(`${migration.name} is not applied`);
    await dataSource.undoLastMigration({ transaction: 'each' });
    if (last.name === migration.name) return;
  }
}

/** A migrated database with a plain TypeORM DataSource, for tests below the HTTP layer. */
export async function createMigratedDataSource(): Promise<{ dataSource: DataSource; url: string; drop(): Promise<void> }> {
  const url = await createTestDatabase();
  const dataSource = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each', extra: { max: 30 } });
  await dataSource.initialize();
  await dataSource.runMigrations();
  return {
    dataSource,
    url,
    async drop() {
      await dataSource.destroy();
      await dropDatabase(url);
    },
  };
}

/** The migrations before `migration`, and up to it: a later migration must not change what its test sees. */
export function migrationsAround(migration: abstract new () => unknown): { before: typeof migrations; through: typeof migrations } {
  const at = migrations.indexOf(migration as (typeof migrations)[number]);
  if (at < 0) throw new Error(`${migration.name} is not in migrations/index.ts`);
  return { before: migrations.slice(0, at), through: migrations.slice(0, at + 1) };
}

/**
 * A migration test file's own database: created before its tests (beforeAll) with a client on
 * it, dropped after them with every session `holding` opened.
 */
export function migrationTestDatabase(): {
  readonly url: string;
  readonly db: Client;
  withMigrations<T>(known: typeof migrations, work: (dataSource: DataSource) => Promise<T>): Promise<T>;
  /** Another session holding `lock` (SQL taking an advisory lock), as a process of the previous version would. */
  holding(lock: string, params: unknown[]): Promise<Client>;
} {
  let url: string | undefined;
  let db: Client | undefined;
  const lockers: Client[] = [];
  beforeAll(async () => {
    url = await createTestDatabase();
    db = new Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    await Promise.all(lockers.map((locker) => locker.end().catch(() => undefined)));
    await db?.end();
    if (url) await dropDatabase(url);
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the migration test database is made in beforeAll');
    return value;
  };
  return {
    get url() {
      return ready(url);
    },
    get db() {
      return ready(db);
    },
    withMigrations: (known, work) => withMigrationsOn(ready(url), known, work),
    async holding(lock, params) {
      const locker = new Client({ connectionString: ready(url) });
      await locker.connect();
      lockers.push(locker);
      await locker.query(lock, params);
      return locker;
    },
  };
}
