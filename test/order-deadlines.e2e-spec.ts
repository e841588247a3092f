import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { RejectOrderCommand } from '../src/modules/orders/commands/reject-order/reject-order.command';
import { ScheduleOrderDeadlineCommand } from '../src/modules/orders/deadlines/schedule-order-deadline.command';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { withCommandCause } from '../src/event-store';

// The deadline runs from the moment the order saga handled OrderPlaced (a durable timeout in
// order_deadlines), never from the order's creation: lag before the saga reached an order, or
// after its credit answer was recorded, never rejects a valid order.

const DEADLINE_MS = 1000;
const watching = (timeoutMs = DEADLINE_MS) => ({ ORDER_CONFIRMATION_TIMEOUT_MS: String(timeoutMs), ORDER_DEADLINE_POLL_MS: '50' });
// A failing saga step is parked quickly, so the subscription goes on to later events.
const failFast = { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' };

interface OrderRow {
  status: string;
  rejection_reason: string | null;
}

async function placeOrderOf(app: TestApp, customerId: string, amount: number): Promise<string> {
  const response = await app
    .http()
    .post('/orders')
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'DEADLINE-1', quantity: 1, unitPrice: amount }] })
    .expect(202);
  return response.body.id;
}

async function orderRow(db: DataSource, orderId: string): Promise<OrderRow> {
  const [row] = await db.query(`SELECT status, rejection_reason FROM orders WHERE id = $1`, [orderId]);
  return row;
}

async function orderDecided(app: TestApp, orderId: string): Promise<OrderRow> {
  return eventually(async () => {
    const row = await orderRow(app.db, orderId);
    if (row.status === 'PENDING') throw new Error(`order ${orderId} is still PENDING`);
    return row;
  }, 20_000);
}

async function deadlinesOf(db: DataSource, orderId: string): Promise<number> {
  const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM order_deadlines WHERE order_id = $1`, [orderId]);
  return n;
}

async function creditAnswersOf(db: DataSource, orderId: string): Promise<number> {
  const [{ n }] = await db.query(
    `SELECT count(*)::int AS n FROM events WHERE event_type IN ('CreditReserved', 'CreditRejected') AND payload->>'orderId' = $1`,
    [orderId],
  );
  return n;
}

/** Makes every update of `table` rows matching `condition` fail, as a broken dependency would. */
async function refuseUpdates(db: DataSource, table: string, condition: string): Promise<() => Promise<void>> {
  const name = `refuse_${table}_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  await db.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${name}'; END $$`);
  await db.query(`CREATE TRIGGER ${name} BEFORE UPDATE ON ${table} FOR EACH ROW WHEN (${condition}) EXECUTE FUNCTION ${name}()`);
  return async () => {
    await db.query(`DROP TRIGGER ${name} ON ${table}`);
    await db.query(`DROP FUNCTION ${name}()`);
  };
}

/** Runs `work` on an app that is to be closed later; if it throws, closes the app first. */
async function closingOnFailure<T>(app: TestApp, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    await app.close();
    throw error;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('order deadlines, measured from the saga handling OrderPlaced', () => {
  it('confirms a valid order that waited longer than the deadline before the saga reached it', async () => {
    const deadlineMs = 2000;
    // No saga runs while the order is placed: the lag before the saga handles it.
    const first = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    const { customer, orderId } = await closingOnFailure(first, async () => {
      const customer = await registerUser(first, { creditLimit: 5_000 });
      return { customer, orderId: await placeOrderOf(first, customer, 900) };
    });
    await first.close({ keepDatabase: true });
    await sleep(deadlineMs + 200);

    // The saga starts long after the order was placed, and its credit step is slow a moment more
    // (the customer's row is locked): still within the deadline counted from the saga's start.
    const holder = new DataSource({ type: 'postgres', url: first.databaseUrl });
    await holder.initialize();
    const lock = holder.createQueryRunner();
    await lock.startTransaction();
    await lock.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [customer]);
    let second: TestApp | undefined;
    try {
      second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env: watching(deadlineMs) });
      await sleep(300);
      await lock.commitTransaction();
      expect(await orderDecided(second, orderId)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
      const [{ reserved }] = await second.db.query(`SELECT credit_reserved::int AS reserved FROM users WHERE id = $1`, [customer]);
      expect(reserved).toBe(900);
    } finally {
      if (lock.isTransactionActive) await lock.rollbackTransaction();
      await lock.release();
      await holder.destroy();
      await second?.close();
    }
  });

  it('confirms a valid order whose credit half (reaction:order-credit) lagged past the deadline while the Orders half had handled it', async () => {
    const app = await startTestApp({ env: watching() });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      // The Users module's half lags (an operator paused it, as a backlog would hold it back):
      // order-fulfilment handles OrderPlaced and its deadline starts; nobody has asked for the credit yet.
      const orderCredit = `/admin/subscriptions/${encodeURIComponent('reaction:order-credit')}`;
      await app.http().post(`${orderCredit}/pause`).send({ reason: 'lagging' }).expect(200);
      const orderId = await placeOrderOf(app, customer, 900);
      await eventually(async () => expect(await deadlinesOf(app.db, orderId)).toBe(1));
      await sleep(DEADLINE_MS + 500);
      await app.http().post(`${orderCredit}/resume`).expect(200);

      expect(await orderDecided(app, orderId)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
    } finally {
      await app.close();
    }
  });

  it('rejects an order for "timeout" when no credit answer came within the deadline after the saga handled it', async () => {
    const app = await startTestApp({ env: { ...watching(), ...failFast } });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      // The credit step fails for this customer, every time: retried, then parked.
      await refuseUpdates(app.db, 'users', `OLD.id = '${customer}'`);
      const orderId = await placeOrderOf(app, customer, 900);

      expect(await orderDecided(app, orderId)).toEqual({ status: 'REJECTED', rejection_reason: 'timeout' });
      expect(await creditAnswersOf(app.db, orderId)).toBe(0);
      expect(await deadlinesOf(app.db, orderId)).toBe(0);
      // The rejection is traced to the OrderPlaced that started the wait.
      const [placed] = await app.db.query(`SELECT event_id, metadata FROM events WHERE stream_id = $1 AND event_type = 'OrderPlaced'`, [orderId]);
      const [rejected] = await app.db.query(`SELECT metadata FROM events WHERE stream_id = $1 AND event_type = 'OrderRejected'`, [orderId]);
      expect(rejected.metadata).toMatchObject({ causationId: placed.event_id, correlationId: placed.metadata.correlationId });
    } finally {
      await app.close();
    }
  });

  it('does not reject an order whose credit was reserved although the saga confirms it only after the deadline', async () => {
    const app = await startTestApp({ env: { ...watching(), ...failFast } });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      // The credit answer is recorded, but the saga's confirming step fails until it is retried.
      const allowConfirm = await refuseUpdates(app.db, 'orders', `NEW.customer_id = '${customer}' AND NEW.status = 'CONFIRMED'`);
      const orderId = await placeOrderOf(app, customer, 900);

      await eventually(async () => expect(await deadlinesOf(app.db, orderId)).toBe(1));
      // The deadline falls due and is dropped: the saga has its answer.
      await eventually(async () => expect(await deadlinesOf(app.db, orderId)).toBe(0), 20_000);
      expect(await creditAnswersOf(app.db, orderId)).toBe(1);
      expect(await orderRow(app.db, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });

      // An operator repairs the cause and retries the parked step: the order is confirmed.
      await allowConfirm();
      await eventually(async () => {
        const parked = await app.db.query(`SELECT 1 FROM parked_reactions WHERE stream_id = $1 AND event_type = 'CreditReserved'`, [customer]);
        expect(parked).toHaveLength(1);
      });
      await app.db.query(`UPDATE parked_reactions SET retry_requested_at = clock_timestamp() WHERE stream_id = $1`, [customer]);
      expect(await orderDecided(app, orderId)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
    } finally {
      await app.close();
    }
  });

  it('fires a deadline that fell due while no process ran, after the saga had handled the order', async () => {
    // The first process handles OrderPlaced (the deadline is scheduled), its credit step fails,
    // and it stops before the deadline falls due; its watcher would look again only in a minute.
    const first = await startTestApp({ env: { ...watching(1500), ORDER_DEADLINE_POLL_MS: '60000', ...failFast } });
    const { orderId, dueInMs } = await closingOnFailure(first, async () => {
      const customer = await registerUser(first, { creditLimit: 5_000 });
      await refuseUpdates(first.db, 'users', `OLD.id = '${customer}'`);
      const orderId = await placeOrderOf(first, customer, 900);
      await eventually(async () => expect(await deadlinesOf(first.db, orderId)).toBe(1));
      const [{ dueInMs }] = await first.db.query(
        `SELECT ceil(extract(epoch FROM due_at - clock_timestamp()) * 1000)::int AS "dueInMs" FROM order_deadlines WHERE order_id = $1`,
        [orderId],
      );
      expect(await orderRow(first.db, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });
      return { orderId, dueInMs: dueInMs as number };
    });
    await first.close({ keepDatabase: true });
    await sleep(Math.max(dueInMs, 0) + 200);

    // A new process, its credit step still failing, finds the timeout due and fires it.
    const second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env: { ...watching(1500), ...failFast } });
    try {
      expect(await orderDecided(second, orderId)).toEqual({ status: 'REJECTED', rejection_reason: 'timeout' });
      expect(await creditAnswersOf(second.db, orderId)).toBe(0);
      expect(await deadlinesOf(second.db, orderId)).toBe(0);
    } finally {
      await second.close();
    }
  });

  it('schedules one deadline per order: handling OrderPlaced again keeps the first, and a decided order gets none', async () => {
    const app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    try {
      const commands = app.app.get(CommandBus);
      const customer = await registerUser(app, { creditLimit: 5_000 });
      const orderId = await placeOrderOf(app, customer, 900);
      const cause = { correlationId: `deadline-${randomUUID()}`, causationId: randomUUID() };
      const dueAt = async () => (await app.db.query(`SELECT due_at::text AS "dueAt" FROM order_deadlines WHERE order_id = $1`, [orderId])).map((row: { dueAt: string }) => row.dueAt);

      await withCommandCause(cause, () => commands.execute(new ScheduleOrderDeadlineCommand(orderId)));
      const [first] = await dueAt();
      await sleep(20);
      await withCommandCause(cause, () => commands.execute(new ScheduleOrderDeadlineCommand(orderId)));
      expect(await dueAt()).toEqual([first]);

      await withCommandCause(cause, () => commands.execute(new RejectOrderCommand(orderId, 'test')));
      await app.db.query(`DELETE FROM order_deadlines WHERE order_id = $1`, [orderId]);
      await withCommandCause(cause, () => commands.execute(new ScheduleOrderDeadlineCommand(orderId)));
      expect(await dueAt()).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
