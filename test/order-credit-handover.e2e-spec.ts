import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { OrderCreditReaction1765200000000 } from '../migrations/1765200000000-OrderCreditReaction';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { eventually } from './support/test-app';
import { uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase, undoMigrationsDownTo, withMigrationsOn } from './support/test-database';
import { testAuthorization } from './support/test-auth';

/**
 * The upgrade that moves the credit steps from `reaction:order-fulfilment` (Orders) to
 * `reaction:order-credit` (Users): the new reaction takes over where the old one stood, so no
 * credit step is skipped and none is done twice (migrations/1765200000000-OrderCreditReaction.ts).
 *
 * The events are real (the API produced them with its reactions stopped where needed); the old
 * reaction's state over them (checkpoint, receipts, parked step, pause) is written as the previous
 * version left it. "Done by the old reaction" has no effect in the store here, so a credit event
 * for such an order would be the new reaction acting on it a second time.
 */
const FROM = 'reaction:order-fulfilment';
const TO = 'reaction:order-credit';
const ORDER_AMOUNT = 100;
// Only the reactions may decide orders here, never their deadline.
const ENV = { ORDER_CONFIRMATION_TIMEOUT_MS: '600000' };

let url: string;
let db: Client;
let api: ApiProcess | undefined;
let locker: Client | undefined;
const brokerPrefix = uniqueBrokerPrefix();

beforeAll(async () => {
  url = await createTestDatabase();
  db = new Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => {
  await api?.kill('SIGKILL');
  await locker?.end().catch(() => undefined);
  await db?.end();
  if (url) await dropDatabase(url);
});

/**
 * The migrations up to the one under test. Those after it are another upgrade's: the API applies
 * them at its start, undoHandover takes them back first, and runs here stop at the handover.
 */
const THROUGH_HANDOVER = migrations.slice(0, migrations.indexOf(OrderCreditReaction1765200000000) + 1);

/** Runs `work` with a DataSource over every migration, or `list` (its own connections, closed after). */
function withMigrations<T>(work: (dataSource: DataSource) => Promise<T>, list = migrations): Promise<T> {
  return withMigrationsOn(url, list, work);
}

/** Back to the schema of the version before the handover: the later migrations undone, then the handover's. */
function undoHandover(dataSource: DataSource): Promise<void> {
  return undoMigrationsDownTo(dataSource, new OrderCreditReaction1765200000000());
}

async function startApi(env: Record<string, string> = {}): Promise<ApiProcess> {
  api = await ApiProcess.start({ DATABASE_URL: url, BROKER_PREFIX: brokerPrefix, ...ENV, ...env });
  return api;
}

/** Stops the API once its sequencer numbered every event (one left unnumbered waits for the next start). */
async function stopApi(): Promise<void> {
  await eventually(async () => {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM events WHERE global_position IS NULL`);
    expect(rows[0].n).toBe(0);
  }, 20_000);
  await api?.kill('SIGTERM');
  api = undefined;
}

async function placeOrder(customerId: string): Promise<string> {
  const response = await api!.post('/orders', { customerId, currency: 'EUR', lines: [{ sku: 'HANDOVER', quantity: 1, unitPrice: ORDER_AMOUNT }] });
  expect(response.status).toBe(202);
  return response.body.id;
}

/** POSTs a command that answers 202 with no body (ship, cancel); its status. */
async function send(pathname: string, body: object): Promise<number> {
  const response = await fetch(`${api!.url}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await testAuthorization()) },
    body: JSON.stringify(body),
  });
  return response.status;
}

async function statusOf(orderId: string): Promise<string> {
  const { rows } = await db.query(`SELECT status FROM orders WHERE id = $1`, [orderId]);
  return rows[0]?.status;
}

/** The stored event of `type` about the order: its id and global position (once the sequencer numbered it). */
async function eventOf(type: string, orderId: string): Promise<{ id: string; position: string }> {
  return eventually(async () => {
    const { rows } = await db.query(
      `SELECT event_id AS id, global_position::text AS position FROM events WHERE event_type = $1 AND payload->>'orderId' = $2`,
      [type, orderId],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].position).not.toBeNull();
    return rows[0];
  });
}

/** How many events of `type` concern the order. */
async function countOf(type: string, orderId: string): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM events WHERE event_type = $1 AND payload->>'orderId' = $2`, [type, orderId]);
  return rows[0].n;
}

async function receiptsOf(subscriptionId: string): Promise<string[]> {
  const { rows } = await db.query(`SELECT event_id || ' ' || step AS receipt FROM reaction_receipts WHERE subscription_id = $1 ORDER BY 1`, [
    subscriptionId,
  ]);
  return rows.map((row) => row.receipt);
}

async function checkpointsOf(subscriptionId: string): Promise<unknown[]> {
  const { rows } = await db.query(
    `SELECT segment, segments, global_position::text AS position, starts_after::text AS "startsAfter"
     FROM subscription_checkpoints WHERE subscription_id = $1 ORDER BY segment`,
    [subscriptionId],
  );
  return rows;
}

async function parkedOf(reaction: string): Promise<string[]> {
  const { rows } = await db.query(`SELECT event_id || ' ' || step AS parked FROM parked_reactions WHERE reaction = $1 ORDER BY 1`, [reaction]);
  return rows.map((row) => row.parked);
}

const receipt = (event: { id: string }, step: string) => `${event.id} ${step}`;

it('hands the credit steps over from order-fulfilment to order-credit: none skipped, none done twice, and back on down', async () => {
  // Real events. With its reactions running, the API confirms two orders (credit reserved) ...
  await startApi();
  const user = await api!.post('/users', { email: `handover-${brokerPrefix}@example.com`, name: 'Handover', creditLimit: 100_000 });
  expect(user.status).toBe(201);
  const customerId: string = user.body.id;
  const shipped = await placeOrder(customerId);
  const cancelled = await placeOrder(customerId);
  await eventually(async () => {
    expect([await statusOf(shipped), await statusOf(cancelled)]).toEqual(['CONFIRMED', 'CONFIRMED']);
  }, 30_000);
  await stopApi();
  // ... then, with its reactions stopped, ships one, cancels the other, and takes new orders.
  await startApi({ REACTIONS_ENABLED: 'false' });
  const parked = await placeOrder(customerId);
  expect(await send(`/orders/${shipped}/ship`, {})).toBe(202);
  const beforeCheckpoint = await placeOrder(customerId);
  const wholeReceipted = await placeOrder(customerId);
  expect(await send(`/orders/${cancelled}/cancel`, { reason: 'changed my mind' })).toBe(202);
  const reserveReceipted = await placeOrder(customerId);
  const deadlineReceipted = await placeOrder(customerId);
  const untouched = await placeOrder(customerId);
  await stopApi();

  // Back to the previous version's schema (the last migration undone), and both reactions' state
  // replaced by what the previous version leaves.
  await withMigrations(async (dataSource) => {
    await undoHandover(dataSource);
  });
  for (const table of ['reaction_receipts', 'subscription_checkpoints', 'paused_subscriptions']) {
    await db.query(`DELETE FROM ${table} WHERE subscription_id = ANY($1::text[])`, [[FROM, TO]]);
  }
  await db.query(`DELETE FROM parked_reactions WHERE reaction = ANY($1::text[])`, [[FROM, TO]]);

  const event = {
    shippedPlaced: await eventOf('OrderPlaced', shipped),
    shippedReserved: await eventOf('CreditReserved', shipped),
    parkedPlaced: await eventOf('OrderPlaced', parked),
    shippedShipped: await eventOf('OrderShipped', shipped),
    beforeCheckpoint: await eventOf('OrderPlaced', beforeCheckpoint),
    wholeReceipted: await eventOf('OrderPlaced', wholeReceipted),
    cancelled: await eventOf('OrderCancelled', cancelled),
    reserveReceipted: await eventOf('OrderPlaced', reserveReceipted),
    deadlineReceipted: await eventOf('OrderPlaced', deadlineReceipted),
    untouched: await eventOf('OrderPlaced', untouched),
  };
  // The old reaction is done with everything up to `beforeCheckpoint` (its checkpoint), and beyond
  // it with `wholeReceipted` (whole event) and one step each of two more orders.
  await db.query(
    `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, starts_after) VALUES ($1, 0, 1, $2, 1)`,
    [FROM, event.beforeCheckpoint.position],
  );
  const oldReceipts: Array<[{ id: string }, string]> = [
    // Before the checkpoint (as it leaves them: the last step's receipt with the whole event's).
    [event.shippedPlaced, 'scheduleDeadlineForPlacedOrder'],
    [event.shippedPlaced, 'reserveCreditForPlacedOrder'],
    [event.shippedPlaced, '*'],
    [event.shippedReserved, 'confirmOrderWhenCreditReserved'],
    [event.shippedReserved, '*'],
    [event.parkedPlaced, 'scheduleDeadlineForPlacedOrder'],
    [event.parkedPlaced, 'reserveCreditForPlacedOrder'],
    [event.parkedPlaced, '*'],
    [event.shippedShipped, 'consumeCreditOfShippedOrder'],
    [event.shippedShipped, '*'],
    // Beyond it.
    [event.wholeReceipted, 'scheduleDeadlineForPlacedOrder'],
    [event.wholeReceipted, 'reserveCreditForPlacedOrder'],
    [event.wholeReceipted, '*'],
    [event.reserveReceipted, 'reserveCreditForPlacedOrder'],
    [event.deadlineReceipted, 'scheduleDeadlineForPlacedOrder'],
  ];
  for (const [{ id }, step] of oldReceipts) {
    await db.query(`INSERT INTO reaction_receipts (subscription_id, event_id, step) VALUES ($1, $2, $3)`, [FROM, id, step]);
  }
  await db.query(
    `INSERT INTO parked_reactions (reaction, step, event_id, event_position, stream_id, event_type, attempts, last_error)
     SELECT $1, 'reserveCreditForPlacedOrder', event_id, global_position, stream_id, event_type, 5, 'the users table was locked'
     FROM events WHERE event_id = $2`,
    [FROM, event.parkedPlaced.id],
  );
  await db.query(`INSERT INTO paused_subscriptions (subscription_id, paused_by, reason) VALUES ($1, 'operator', 'looking at the deadlines')`, [FROM]);

  // A process of the previous version still runs the old reaction (it holds its membership lock): refused.
  locker = new Client({ connectionString: url });
  await locker.connect();
  await locker.query(`SELECT pg_advisory_lock_shared(hashtext($1), 1)`, [`${FROM}/1`]);
  await expect(withMigrations((dataSource) => dataSource.runMigrations(), THROUGH_HANDOVER)).rejects.toThrow(/stop the API processes of the previous version/);
  expect(await checkpointsOf(TO)).toEqual([]);
  await locker.end();
  locker = undefined;

  // Stopped: it runs.
  const applied = await withMigrations((dataSource) => dataSource.runMigrations(), THROUGH_HANDOVER);
  expect(applied.map((migration) => migration.name)).toEqual([new OrderCreditReaction1765200000000().name]);

  expect(await checkpointsOf(TO)).toEqual(await checkpointsOf(FROM));
  expect(await checkpointsOf(TO)).toEqual([{ segment: 0, segments: 1, position: event.beforeCheckpoint.position, startsAfter: '1' }]);
  // The moved steps' receipts, and the whole-event receipts of the types they read; none of the
  // steps that stay (deadline, confirmation), none of CreditReserved's.
  expect(await receiptsOf(TO)).toEqual(
    [
      receipt(event.shippedPlaced, 'reserveCreditForPlacedOrder'),
      receipt(event.shippedPlaced, '*'),
      receipt(event.parkedPlaced, 'reserveCreditForPlacedOrder'),
      receipt(event.parkedPlaced, '*'),
      receipt(event.shippedShipped, 'consumeCreditOfShippedOrder'),
      receipt(event.shippedShipped, '*'),
      receipt(event.wholeReceipted, 'reserveCreditForPlacedOrder'),
      receipt(event.wholeReceipted, '*'),
      receipt(event.reserveReceipted, 'reserveCreditForPlacedOrder'),
    ].sort(),
  );
  // Copied, not moved: the old reaction still runs its other steps over the same events.
  expect(await receiptsOf(FROM)).toEqual(oldReceipts.map(([e, step]) => receipt(e, step)).sort());
  expect(await parkedOf(TO)).toEqual([receipt(event.parkedPlaced, 'reserveCreditForPlacedOrder')]);
  expect(await parkedOf(FROM)).toEqual([]);
  const { rows: pauses } = await db.query(`SELECT subscription_id, paused_by, reason FROM paused_subscriptions ORDER BY 1`);
  expect(pauses).toEqual([
    { subscription_id: TO, paused_by: 'operator', reason: 'looking at the deadlines' },
    { subscription_id: FROM, paused_by: 'operator', reason: 'looking at the deadlines' },
  ]);

  // The new version, order-credit resumed (order-fulfilment stays paused): it acts on what the old
  // reaction left undone, once, and on nothing it did.
  await db.query(`DELETE FROM paused_subscriptions WHERE subscription_id = $1`, [TO]);
  await startApi();
  await eventually(async () => {
    expect(await countOf('CreditReleased', cancelled)).toBe(1);
    expect(await countOf('CreditReserved', deadlineReceipted)).toBe(1);
    expect(await countOf('CreditReserved', untouched)).toBe(1);
  }, 30_000);
  // The parked step, moved, is retried by the new reaction on an operator's request.
  await db.query(`UPDATE parked_reactions SET retry_requested_at = clock_timestamp() WHERE reaction = $1`, [TO]);
  await eventually(async () => {
    expect(await parkedOf(TO)).toEqual([]);
    expect(await countOf('CreditReserved', parked)).toBe(1);
  }, 30_000);
  // Caught up: order-credit's checkpoint at the head of its types.
  await eventually(async () => {
    const { rows } = await db.query(
      `SELECT (SELECT global_position FROM subscription_checkpoints WHERE subscription_id = $1) >=
              (SELECT max(global_position) FROM events WHERE event_type IN ('OrderPlaced', 'OrderCancelled', 'OrderShipped')) AS caught_up`,
      [TO],
    );
    expect(rows[0].caught_up).toBe(true);
  }, 30_000);
  await stopApi();

  // Done by the old reaction: never again.
  expect(await countOf('CreditConsumed', shipped)).toBe(0);
  expect(await countOf('CreditReserved', beforeCheckpoint)).toBe(0);
  expect(await countOf('CreditReserved', wholeReceipted)).toBe(0);
  expect(await countOf('CreditReserved', reserveReceipted)).toBe(0);
  // Left undone by it: once.
  expect(await countOf('CreditReleased', cancelled)).toBe(1);
  expect(await countOf('CreditReserved', deadlineReceipted)).toBe(1);
  expect(await countOf('CreditReserved', untouched)).toBe(1);
  expect(await countOf('CreditReserved', parked)).toBe(1);
  expect(await countOf('CreditReserved', shipped)).toBe(1);
  expect(await countOf('CreditReserved', cancelled)).toBe(1);

  // Down: the previous version takes over again. What order-credit did is receipted under
  // order-fulfilment as the step it did, never as the whole event: the old reaction does not do
  // it again, and still does its own steps of the same events (order-fulfilment was paused, so
  // its deadline step of `untouched`, for one, is still to run: the previous version finds the
  // deadline this version wrote with the order, and keeps it).
  const afterUp = await receiptsOf(TO);
  expect(afterUp).toEqual(expect.arrayContaining([receipt(event.untouched, '*'), receipt(event.cancelled, '*')]));
  // A step the new version parked goes back with the rest.
  await db.query(
    `INSERT INTO parked_reactions (reaction, step, event_id, event_position, stream_id, event_type, attempts, last_error)
     SELECT $1, 'releaseCreditOfClosedOrder', event_id, global_position, stream_id, event_type, 5, 'the users table was locked'
     FROM events WHERE event_id = $2`,
    [TO, event.cancelled.id],
  );
  await withMigrations(async (dataSource) => {
    await undoHandover(dataSource);
  });
  expect(await receiptsOf(TO)).toEqual([]);
  expect(await checkpointsOf(TO)).toEqual([]);
  expect(await checkpointsOf(FROM)).toEqual([{ segment: 0, segments: 1, position: event.beforeCheckpoint.position, startsAfter: '1' }]);
  const { rows: pausesAfterDown } = await db.query(`SELECT subscription_id FROM paused_subscriptions ORDER BY 1`);
  expect(pausesAfterDown).toEqual([{ subscription_id: FROM }]);
  expect(await receiptsOf(FROM)).toEqual(
    [
      ...oldReceipts.map(([e, step]) => receipt(e, step)),
      receipt(event.cancelled, 'releaseCreditOfClosedOrder'),
      receipt(event.deadlineReceipted, 'reserveCreditForPlacedOrder'),
      receipt(event.untouched, 'reserveCreditForPlacedOrder'),
    ].sort(),
  );
  expect(await parkedOf(FROM)).toEqual([receipt(event.cancelled, 'releaseCreditOfClosedOrder')]);
  expect(await parkedOf(TO)).toEqual([]);

  // Up again, and this time order-credit lags (paused) while order-fulfilment runs on: it passes
  // over the new orders and a cancellation, which are not its business now (this version writes
  // an order's deadline with the order, OrderDeadlinesWithPlacement1765300300000).
  const reapplied = await withMigrations((dataSource) => dataSource.runMigrations(), THROUGH_HANDOVER);
  expect(reapplied).toHaveLength(1);
  expect(await checkpointsOf(TO)).toEqual(await checkpointsOf(FROM));
  expect(await parkedOf(TO)).toEqual([receipt(event.cancelled, 'releaseCreditOfClosedOrder')]);
  await db.query(`DELETE FROM paused_subscriptions WHERE subscription_id = $1`, [FROM]);
  await startApi();
  const lagging = await placeOrder(customerId);
  const laggingCancelled = await placeOrder(customerId);
  expect(await send(`/orders/${laggingCancelled}/cancel`, { reason: 'changed my mind' })).toBe(202);
  const late = {
    placed: await eventOf('OrderPlaced', lagging),
    cancelledPlaced: await eventOf('OrderPlaced', laggingCancelled),
    cancelled: await eventOf('OrderCancelled', laggingCancelled),
  };
  await eventually(async () => {
    const [checkpoint] = (await checkpointsOf(FROM)) as Array<{ position: string }>;
    expect(BigInt(checkpoint.position)).toBeGreaterThanOrEqual(BigInt(late.cancelled.position));
  }, 30_000);
  await stopApi();
  const lateIds = [late.placed.id, late.cancelledPlaced.id, late.cancelled.id];
  const ofLate = (receipts: string[]) => receipts.filter((r) => lateIds.some((id) => r.startsWith(id))).sort();
  expect(ofLate(await receiptsOf(FROM))).toEqual([]);
  // The new order's deadline stands all the same: written with the order.
  const { rows: laggingDeadline } = await db.query(`SELECT count(*)::int AS n FROM order_deadlines WHERE order_id = $1`, [lagging]);
  expect(laggingDeadline[0].n).toBe(1);
  expect(await countOf('CreditReserved', lagging)).toBe(0);
  const creditCheckpoint = await checkpointsOf(TO);
  expect(creditCheckpoint).toEqual([{ segment: 0, segments: 1, position: event.beforeCheckpoint.position, startsAfter: '1' }]);
  // The version of the handover (before OrderDeadlinesWithPlacement1765300300000) scheduled the
  // deadline in a step of order-fulfilment over OrderPlaced: a process of it that ran on while
  // order-credit lagged left these receipts, its deadline step's and the whole event's, of the
  // OrderPlaced events it took. Written as it leaves them, so that down meets them.
  for (const placedEvent of [event.untouched, late.placed, late.cancelledPlaced]) {
    for (const step of ['scheduleDeadlineForPlacedOrder', '*']) {
      await db.query(`INSERT INTO reaction_receipts (subscription_id, event_id, step) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [FROM, placedEvent.id, step]);
    }
  }

  // Down: the old reaction must reserve the credit of the new orders and release the
  // cancelled one's, which order-credit did not: order-fulfilment's whole-event receipts of them
  // (its deadline step only) go, and its checkpoint goes back to order-credit's. (The deadlines
  // themselves were written with the orders: the old deadline step keeps them as they are.)
  await withMigrations(async (dataSource) => {
    await undoHandover(dataSource);
  });
  expect(await checkpointsOf(FROM)).toEqual(creditCheckpoint);
  const afterLag = await receiptsOf(FROM);
  expect(afterLag).toEqual(expect.arrayContaining([receipt(late.placed, 'scheduleDeadlineForPlacedOrder'), receipt(late.cancelledPlaced, 'scheduleDeadlineForPlacedOrder')]));
  expect(ofLate(afterLag)).toEqual(
    [receipt(late.placed, 'scheduleDeadlineForPlacedOrder'), receipt(late.cancelledPlaced, 'scheduleDeadlineForPlacedOrder')].sort(),
  );
  // What both did stays done: `untouched`'s deadline step (order-fulfilment of the handover's version) and credit (order-credit, the first run).
  expect(afterLag).toEqual(
    expect.arrayContaining([receipt(event.untouched, '*'), receipt(event.untouched, 'scheduleDeadlineForPlacedOrder'), receipt(event.untouched, 'reserveCreditForPlacedOrder')]),
  );
  expect(await parkedOf(FROM)).toEqual([receipt(event.cancelled, 'releaseCreditOfClosedOrder')]);
});
