import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { GlobalPositions1763880400000 } from '../migrations/1763880400000-GlobalPositions';
import { dropDatabase } from '../src/database/ensure-database';
import { createTestDatabase } from './support/test-database';

/**
 * The upgrade from transaction-id checkpoints: existing events are numbered in the order readers
 * delivered them until then, (transaction id, position), and every checkpoint becomes the number
 * of the last event at or before it, so no reader skips or repeats anything across the upgrade.
 */
let url: string;
let dataSource: DataSource;
/** Every migration before the one under test. */
const before = migrations.slice(0, migrations.indexOf(GlobalPositions1763880400000));

beforeAll(async () => {
  url = await createTestDatabase();
  dataSource = new DataSource({ type: 'postgres', url, migrations: before, migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  await dataSource.runMigrations();
});
afterAll(async () => {
  await dataSource?.destroy();
  await dropDatabase(url);
});

async function append(db: { query: Client['query'] }, label: string): Promise<void> {
  await db.query(
    `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
     VALUES ($1, 'Test', $2, 1, 'Tested', $3, '{}')`,
    [randomUUID(), randomUUID(), JSON.stringify({ label })],
  );
}

it('numbers stored events in their old delivery order and converts every checkpoint', async () => {
  const slow = new Client({ connectionString: url });
  const fast = new Client({ connectionString: url });
  await Promise.all([slow.connect(), fast.connect()]);
  try {
    // The slow transaction takes its id first, so the old readers delivered its events (a1, a2)
    // before b, although b's position lies between them.
    await slow.query('BEGIN');
    await slow.query('SELECT pg_current_xact_id()');
    await append(slow, 'a1');
    await append(fast, 'b');
    await append(slow, 'a2');
    await slow.query('COMMIT');
    await append(fast, 'c');
  } finally {
    await Promise.all([slow.end(), fast.end()]);
  }
  const oldOrder: Array<{ label: string; transactionId: string; position: string }> = await dataSource.query(
    `SELECT payload->>'label' AS label, transaction_id::text AS "transactionId", position::text AS position
     FROM events ORDER BY transaction_id, position`,
  );
  expect(oldOrder.map((row) => row.label)).toEqual(['a1', 'a2', 'b', 'c']);
  // Checkpoints: one at the beginning, one after a2 (its transaction done), one after everything.
  const at = (label: string) => oldOrder.find((row) => row.label === label)!;
  await dataSource.query(
    `INSERT INTO subscription_checkpoints (subscription_id, transaction_id, position) VALUES
       ('none', '0', 0), ('after-a2', $1::xid8, $2::bigint), ('all', $3::xid8, $4::bigint)`,
    [at('a2').transactionId, at('a2').position, at('c').transactionId, at('c').position],
  );
  await dataSource.destroy();

  dataSource = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  await dataSource.runMigrations();

  const numbered = await dataSource.query(`SELECT payload->>'label' AS label, global_position::int AS n FROM events ORDER BY global_position`);
  expect(numbered).toEqual([
    { label: 'a1', n: 1 },
    { label: 'a2', n: 2 },
    { label: 'b', n: 3 },
    { label: 'c', n: 4 },
  ]);
  const checkpoints = await dataSource.query(
    `SELECT subscription_id AS id, global_position::int AS n FROM subscription_checkpoints ORDER BY subscription_id`,
  );
  expect(checkpoints).toEqual([
    { id: 'after-a2', n: 2 },
    { id: 'all', n: 4 },
    { id: 'none', n: 0 },
  ]);
  // Nothing stored is a transaction id any more.
  const [{ columns }] = await dataSource.query(
    `SELECT count(*)::int AS columns FROM information_schema.columns
     WHERE table_name IN ('events', 'subscription_checkpoints') AND data_type = 'xid8'`,
  );
  expect(columns).toBe(0);
});
