import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { dropDatabase, ensureDatabaseExists } from '../../src/database/ensure-database';

/** Server that test databases are created on; never the database a running instance uses. */
export const TEST_SERVER_URL = process.env.TEST_DATABASE_SERVER_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432';
export const TEST_DATABASE_PREFIX = 'eda_test_';

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
