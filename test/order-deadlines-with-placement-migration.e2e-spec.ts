import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { OrderDeadlinesWithPlacement1765300300000 } from '../migrations/1765300300000-OrderDeadlinesWithPlacement';
import { dropDatabase } from '../src/database/ensure-database';
import { createTestDatabase, migrationsAround, migrationTestDatabase, withMigrationsOn } from './support/test-database';

/**
 * The upgrade after which an order's deadline is written with its placement, no longer by the
 * order-fulfilment saga's step on OrderPlaced (migrations/1765300300000-OrderDeadlinesWithPlacement.ts):
 * every PENDING order without a deadline gets one, caused by its OrderPlaced, due 30 s ahead; a
 * deadline that exists stays as it is; a decided order gets none. It refuses while a process of the
 * previous version runs the saga (its membership lock), and its down leaves the deadlines.
 */
const SUBSCRIPTION = 'reaction:order-fulfilment';
const MIGRATION = new OrderDeadlinesWithPlacement1765300300000();
const { before: BEFORE, through: THROUGH } = migrationsAround(OrderDeadlinesWithPlacement1765300300000);
const database = migrationTestDatabase();
const { withMigrations, holding } = database;

let nextGlobalPosition = 1;

/** Appends one of the order's events as the previous version wrote it (numbered as the sequencer would). */
async function append(orderId: string, streamVersion: number, eventType: string, payload: object, correlationId: string): Promise<string> {
  const eventId = randomUUID();
  await database.db.query(
    `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata, recorded_at, global_position)
     VALUES ($1, 'Order', $2, $3, $4, 2, $5, $6, now(), $7)`,
    [eventId, orderId, streamVersion, eventType, JSON.stringify(payload), JSON.stringify({ correlationId, causationId: randomUUID(), occurredAt: new Date().toISOString() }), nextGlobalPosition++],
  );
  return eventId;
}

/** An order of the previous version: its row, its OrderPlaced (and the event deciding it, if any). */
async function legacyOrder(status: 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED'): Promise<{ orderId: string; placedEventId: string; correlationId: string }> {
  const orderId = randomUUID();
  const customerId = randomUUID();
  const correlationId = `placed-${orderId}`;
  const lines = [{ sku: 'SKU-1', quantity: 1, unitPrice: 900 }];
  await database.db.query(
    `INSERT INTO orders (id, customer_id, status, currency, lines, total, rejection_reason, version, created_at, updated_at)
     VALUES ($1, $2, $3, 'EUR', $4, 900, $5, $6, now(), now())`,
    [orderId, customerId, status, JSON.stringify(lines), status === 'REJECTED' ? 'insufficient credit' : null, status === 'PENDING' ? 1 : 2],
  );
  const placedEventId = await append(
    orderId,
    1,
    'OrderPlaced',
    { orderId, customerId, lines, total: { amount: 900, currency: 'EUR' }, placedAt: new Date().toISOString() },
    correlationId,
  );
  const decision = { CONFIRMED: 'OrderConfirmed', REJECTED: 'OrderRejected', CANCELLED: 'OrderCancelled', PENDING: undefined }[status];
  if (decision) await append(orderId, 2, decision, { orderId, customerId, total: { amount: 900, currency: 'EUR' } }, `decided-${orderId}`);
  return { orderId, placedEventId, correlationId };
}

interface DeadlineRow {
  order_id: string;
  due_at: string;
  causation_id: string;
  correlation_id: string;
}

async function deadlines(): Promise<DeadlineRow[]> {
  const { rows } = await database.db.query(`SELECT order_id, due_at::text AS due_at, causation_id, correlation_id FROM order_deadlines ORDER BY order_id`);
  return rows;
}

async function applied(): Promise<boolean> {
  const { rows } = await database.db.query(`SELECT 1 FROM migrations WHERE name = $1`, [MIGRATION.name]);
  return rows.length === 1;
}

it('gives every PENDING order without a deadline one caused by its OrderPlaced, keeps those that exist, refuses while the previous version runs the saga, and down leaves them', async () => {
  await withMigrations(BEFORE, (dataSource) => dataSource.runMigrations());

  // What the previous version left: an order its saga had not handled yet (no deadline), one it
  // had handled (a deadline of its own, due at a time of its own), and decided orders.
  const waiting = await legacyOrder('PENDING');
  const scheduled = await legacyOrder('PENDING');
  const ownDeadline = { due_at: '2026-11-01 12:00:05+00', causation_id: scheduled.placedEventId, correlation_id: scheduled.correlationId };
  await database.db.query(`INSERT INTO order_deadlines (order_id, due_at, causation_id, correlation_id) VALUES ($1, $2, $3, $4)`, [
    scheduled.orderId,
    ownDeadline.due_at,
    ownDeadline.causation_id,
    ownDeadline.correlation_id,
  ]);
  const decided = await Promise.all([legacyOrder('CONFIRMED'), legacyOrder('REJECTED'), legacyOrder('CANCELLED')]);
  // The saga's checkpoints as a process running it in two segments keeps them.
  await database.db.query(
    `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, starts_after)
     VALUES ($1, 0, 2, 0, 0), ($1, 1, 2, 0, 0)`,
    [SUBSCRIPTION],
  );
  const before = await deadlines();
  expect(before).toHaveLength(1);

  // A process of the previous version runs the saga (its membership lock, shared): refused, nothing written.
  const running = await holding(
    `SELECT pg_advisory_lock_shared(hashtext(subscription_id || '/' || segments), segments)
     FROM (SELECT DISTINCT subscription_id, segments FROM subscription_checkpoints WHERE subscription_id = $1) AS c`,
    [SUBSCRIPTION],
  );
  await expect(withMigrations(THROUGH, (dataSource) => dataSource.runMigrations())).rejects.toThrow(
    /reaction:order-fulfilment is running in another session: stop the API processes of the previous version/,
  );
  expect(await deadlines()).toEqual(before);
  expect(await applied()).toBe(false);
  await running.end();

  // Stopped: it runs.
  const ran = await withMigrations(THROUGH, (dataSource) => dataSource.runMigrations());
  expect(ran.map(({ name }) => name)).toEqual([MIGRATION.name]);
  const after = await deadlines();
  expect(after.map(({ order_id }) => order_id).sort()).toEqual([waiting.orderId, scheduled.orderId].sort());
  // The waiting order: caused by its OrderPlaced, in the placement's correlation, due 30 s from the upgrade.
  const [fresh] = (
    await database.db.query(
      `SELECT causation_id, correlation_id, extract(epoch FROM due_at - clock_timestamp())::float AS "dueInSeconds" FROM order_deadlines WHERE order_id = $1`,
      [waiting.orderId],
    )
  ).rows;
  expect(fresh).toEqual({ causation_id: waiting.placedEventId, correlation_id: waiting.correlationId, dueInSeconds: expect.any(Number) });
  expect(fresh.dueInSeconds).toBeGreaterThan(20);
  expect(fresh.dueInSeconds).toBeLessThanOrEqual(30);
  // The order the saga had handled keeps its own deadline as it was.
  expect(after.find(({ order_id }) => order_id === scheduled.orderId)).toEqual(before[0]);
  // Decided orders get none.
  for (const { orderId } of decided) expect(after.some(({ order_id }) => order_id === orderId)).toBe(false);

  // Down is a no-op: the previous version keeps and fires the deadlines it finds.
  await withMigrations(THROUGH, (dataSource) => dataSource.undoLastMigration({ transaction: 'each' }));
  expect(await applied()).toBe(false);
  expect(await deadlines()).toEqual(after);

  // And up again: nothing new for orders that have a deadline.
  const reapplied = await withMigrations(THROUGH, (dataSource) => dataSource.runMigrations());
  expect(reapplied.map(({ name }) => name)).toEqual([MIGRATION.name]);
  expect(await deadlines()).toEqual(after);
});

it('runs on a store the saga never ran on (no checkpoint to lock), and with another subscription held', async () => {
  // On its own database: the first case left the migration applied.
  const otherUrl = await createTestDatabase();
  const other = new Client({ connectionString: otherUrl });
  await other.connect();
  try {
    await withMigrationsOn(otherUrl, BEFORE, (dataSource) => dataSource.runMigrations());
    await other.query(
      `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, starts_after) VALUES ('reaction:order-credit', 0, 1, 0, 0)`,
    );
    await other.query(`SELECT pg_advisory_lock_shared(hashtext('reaction:order-credit/1'), 1)`);
    const ran = await withMigrationsOn(otherUrl, THROUGH, (dataSource) => dataSource.runMigrations());
    expect(ran.map(({ name }) => name)).toEqual([MIGRATION.name]);
  } finally {
    await other.end();
    await dropDatabase(otherUrl);
  }
});
