import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { DataSource } from 'typeorm';
import { ConfirmOrderCommand } from '../src/modules/orders/commands/confirm-order/confirm-order.command';
import { PlaceOrderCommand } from '../src/modules/orders/commands/place-order/place-order.command';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { orderDecided, orderDecision, placeOrderOf } from './support/order-decisions';
import { withCommandCause } from '../src/event-store';

// An order's deadline (a durable timeout in order_deadlines) is written in the very statement that
// places it (OrderDeadlines.ofPlacement), caused by its OrderPlaced: no order is PENDING without
// one, whether reactions run or not. Lag still never rejects a valid order: while the Users
// module's credit reaction has not come to the order the wait starts again, and an order whose
// credit answer was recorded has its deadline dropped. What fires is a credit step that fails
// until it is parked.

const DEADLINE_MS = 1000;
const watching = (timeoutMs = DEADLINE_MS) => ({ ORDER_CONFIRMATION_TIMEOUT_MS: String(timeoutMs), ORDER_DEADLINE_POLL_MS: '50' });
// A failing saga step is parked quickly, so the subscription goes on to later events.
const failFast = { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' };

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

async function placedEventOf(db: DataSource, orderId: string): Promise<{ event_id: string; metadata: { correlationId: string }; recorded_at: Date }> {
  const [placed] = await db.query(`SELECT event_id, metadata, recorded_at FROM events WHERE stream_id = $1 AND event_type = 'OrderPlaced'`, [orderId]);
  return placed;
}

async function eventsOf(db: DataSource, orderId: string): Promise<string[]> {
  const rows: Array<{ event_type: string }> = await db.query(`SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version`, [orderId]);
  return rows.map(({ event_type }) => event_type);
}

/** Makes every `operation` (UPDATE, INSERT) of `table` rows matching `condition` fail, as a broken dependency would. */
async function refuse(db: DataSource, operation: 'UPDATE' | 'INSERT', table: string, condition: string): Promise<() => Promise<void>> {
  const name = `refuse_${table}_${randomUUID().replace(/-/g, '').slice(0, 8)}`;
  await db.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '${name}'; END $$`);
  await db.query(`CREATE TRIGGER ${name} BEFORE ${operation} ON ${table} FOR EACH ROW WHEN (${condition}) EXECUTE FUNCTION ${name}()`);
  return async () => {
    await db.query(`DROP TRIGGER ${name} ON ${table}`);
    await db.query(`DROP FUNCTION ${name}()`);
  };
}

const refuseUpdates = (db: DataSource, table: string, condition: string) => refuse(db, 'UPDATE', table, condition);

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

describe('order deadlines, written with the placement', () => {
  it('writes the deadline in the statement that places the order, with no reaction and no reader running', async () => {
    const timeoutMs = 45_000;
    const app = await startTestApp({ env: { REACTIONS_ENABLED: 'false', ORDER_CONFIRMATION_TIMEOUT_MS: String(timeoutMs) }, startReaders: false });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      const correlationId = `placement-${randomUUID()}`;
      const orderId = await placeOrderOf(app, customer, 900, { 'X-Correlation-Id': correlationId });

      // Right after POST /orders returned: nothing else ran that could have written it.
      const placed = await placedEventOf(app.db, orderId);
      expect(placed.metadata.correlationId).toBe(correlationId);
      const [deadline] = await app.db.query(
        `SELECT causation_id, correlation_id, extract(epoch FROM due_at - $2::timestamptz)::float * 1000 AS "dueAfterPlacementMs"
         FROM order_deadlines WHERE order_id = $1`,
        [orderId, placed.recorded_at],
      );
      expect(deadline).toEqual({ causation_id: placed.event_id, correlation_id: correlationId, dueAfterPlacementMs: expect.any(Number) });
      // Due ORDER_CONFIRMATION_TIMEOUT_MS after the placement was recorded (the database's clock
      // against the app's, on one host: a little slack).
      expect(deadline.dueAfterPlacementMs).toBeGreaterThan(timeoutMs - 1000);
      expect(deadline.dueAfterPlacementMs).toBeLessThan(timeoutMs + 1000);
    } finally {
      await app.close();
    }
  });

  it('writes no deadline with a save that is not a placement (cancel, confirm)', async () => {
    const app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    try {
      const commands = app.app.get(CommandBus);
      const customer = await registerUser(app, { creditLimit: 5_000 });
      const [cancelled, confirmed] = [await placeOrderOf(app, customer, 900), await placeOrderOf(app, customer, 800)];
      expect(await deadlinesOf(app.db, cancelled)).toBe(1);
      expect(await deadlinesOf(app.db, confirmed)).toBe(1);
      // Their deadlines gone (as fired or dropped), the orders are saved again.
      await app.db.query(`DELETE FROM order_deadlines WHERE order_id = ANY($1)`, [[cancelled, confirmed]]);

      await app.http().post(`/orders/${cancelled}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      await withCommandCause({ correlationId: `confirm-${randomUUID()}`, causationId: randomUUID() }, () => commands.execute(new ConfirmOrderCommand(confirmed)));

      expect(await eventsOf(app.db, cancelled)).toEqual(['OrderPlaced', 'OrderCancelled']);
      expect(await eventsOf(app.db, confirmed)).toEqual(['OrderPlaced', 'OrderConfirmed']);
      expect(await deadlinesOf(app.db, cancelled)).toBe(0);
      expect(await deadlinesOf(app.db, confirmed)).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('writes the order and its deadline together or neither: a failed placement leaves no deadline, a refused deadline no order', async () => {
    const app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    try {
      const [refusedOrder, refusedDeadline] = [await registerUser(app, { creditLimit: 5_000 }), await registerUser(app, { creditLimit: 5_000 })];
      const commands = app.app.get(CommandBus);
      // As POST /orders places it (which would answer 500, a response its document does not declare).
      const place = (customer: string) =>
        withCommandCause({ correlationId: `place-${randomUUID()}`, causationId: randomUUID() }, () =>
          commands.execute(new PlaceOrderCommand(customer, 'EUR', [{ sku: 'DEADLINE-1', quantity: 1, unitPrice: 900 }])),
        );
      const ordersOf = async (customer: string) => (await app.db.query(`SELECT id FROM orders WHERE customer_id = $1`, [customer])).length;
      const placedOf = async (customer: string) =>
        (await app.db.query(`SELECT 1 FROM events WHERE event_type = 'OrderPlaced' AND payload->>'customerId' = $1`, [customer])).length;

      // The order's row is refused: no order, no event, and no deadline.
      await refuse(app.db, 'INSERT', 'orders', `NEW.customer_id = '${refusedOrder}'`);
      const before = (await app.db.query(`SELECT count(*)::int AS n FROM order_deadlines`))[0].n;
      await expect(place(refusedOrder)).rejects.toThrow(/refuse_orders_/);
      expect(await ordersOf(refusedOrder)).toBe(0);
      expect(await placedOf(refusedOrder)).toBe(0);
      expect((await app.db.query(`SELECT count(*)::int AS n FROM order_deadlines`))[0].n).toBe(before);

      // The deadline is refused: the order is not placed either (it is never PENDING without one).
      await refuse(app.db, 'INSERT', 'order_deadlines', `true`);
      await expect(place(refusedDeadline)).rejects.toThrow(/refuse_order_deadlines_/);
      expect(await ordersOf(refusedDeadline)).toBe(0);
      expect(await placedOf(refusedDeadline)).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('leaves OrderPlaced to the Users module: the fulfilment saga takes no OrderPlaced', async () => {
    const app = await startTestApp({ env: watching(60_000) });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      const orderId = await placeOrderOf(app, customer, 900);
      // The saga ran past the order's OrderPlaced: it confirmed the order on its CreditReserved.
      expect(await orderDecided(app, orderId)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
      const receiptsOf = async (eventType: string) =>
        (
          await app.db.query(
            `SELECT r.step FROM reaction_receipts r JOIN events e ON e.event_id = r.event_id
             WHERE r.subscription_id = 'reaction:order-fulfilment' AND e.event_type = $2 AND e.payload->>'orderId' = $1`,
            [orderId, eventType],
          )
        ).length;
      await eventually(async () => expect(await receiptsOf('CreditReserved')).toBeGreaterThan(0));
      expect(await receiptsOf('OrderPlaced')).toBe(0);
      // The Users module's credit reaction did take it.
      const [{ n }] = await app.db.query(
        `SELECT count(*)::int AS n FROM reaction_receipts r JOIN events e ON e.event_id = r.event_id
         WHERE r.subscription_id = 'reaction:order-credit' AND e.event_type = 'OrderPlaced' AND e.stream_id = $1`,
        [orderId],
      );
      expect(n).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
  });

  it('confirms a valid order that waited longer than the deadline before any reaction reached it', async () => {
    const deadlineMs = 2000;
    // No reaction runs while the order is placed: its deadline is written, and falls due meanwhile.
    const first = await startTestApp({ env: { REACTIONS_ENABLED: 'false', ...watching(deadlineMs) } });
    const { customer, orderId } = await closingOnFailure(first, async () => {
      const customer = await registerUser(first, { creditLimit: 5_000 });
      const orderId = await placeOrderOf(first, customer, 900);
      expect(await deadlinesOf(first.db, orderId)).toBe(1);
      return { customer, orderId };
    });
    await first.close({ keepDatabase: true });
    await sleep(deadlineMs + 200);

    // The reactions start long after the order was placed, and the credit step is slow a moment
    // more (the customer's row is locked): the order is still confirmed, never rejected for timeout.
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

  it('confirms every order of a backlog placed while no reaction ran, their deadlines fallen due meanwhile', async () => {
    const deadlineMs = 2000;
    const first = await startTestApp({ env: { REACTIONS_ENABLED: 'false', ...watching(deadlineMs) } });
    const orderIds = await closingOnFailure(first, async () => {
      const customer = await registerUser(first, { creditLimit: 5_000 });
      const placed: string[] = [];
      for (let n = 0; n < 20; n++) placed.push(await placeOrderOf(first, customer, 10));
      return placed;
    });
    await first.close({ keepDatabase: true });
    await sleep(deadlineMs + 200);

    // The reactions start with every deadline due, and nothing slows the credit steps: lag alone
    // must reject none of them.
    const second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env: watching(deadlineMs) });
    try {
      const decided = await Promise.all(orderIds.map((orderId) => orderDecided(second, orderId)));
      expect(decided.filter(({ status }) => status !== 'CONFIRMED')).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('confirms a valid order whose credit reaction (reaction:order-credit) lagged past the deadline', async () => {
    const app = await startTestApp({ env: watching() });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      // The Users module's credit reaction lags (an operator paused it, as a backlog would hold it
      // back): the order's deadline is written with it; nobody has asked for the credit yet.
      const orderCredit = `/admin/subscriptions/${encodeURIComponent('reaction:order-credit')}`;
      await app.http().post(`${orderCredit}/pause`).send({ reason: 'lagging' }).expect(200);
      const orderId = await placeOrderOf(app, customer, 900);
      expect(await deadlinesOf(app.db, orderId)).toBe(1);
      await sleep(DEADLINE_MS + 500);
      // Fallen due meanwhile, it was started again, not fired.
      expect(await orderDecision(app.db, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });
      expect(await deadlinesOf(app.db, orderId)).toBe(1);
      await app.http().post(`${orderCredit}/resume`).expect(200);

      expect(await orderDecided(app, orderId)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
    } finally {
      await app.close();
    }
  });

  it('rejects an order for "timeout" when no credit answer came within the deadline (the credit step parked)', async () => {
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
      const placed = await placedEventOf(app.db, orderId);
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

      expect(await deadlinesOf(app.db, orderId)).toBe(1);
      // The deadline falls due and is dropped: the saga has its answer.
      await eventually(async () => expect(await deadlinesOf(app.db, orderId)).toBe(0), 20_000);
      expect(await creditAnswersOf(app.db, orderId)).toBe(1);
      expect(await orderDecision(app.db, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });

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

  it('fires a deadline that fell due while no process ran', async () => {
    // The first process places the order (with its deadline), its credit step fails, and it stops
    // before the deadline falls due; its watcher would look again only in a minute.
    const first = await startTestApp({ env: { ...watching(1500), ORDER_DEADLINE_POLL_MS: '60000', ...failFast } });
    const { orderId, dueInMs } = await closingOnFailure(first, async () => {
      const customer = await registerUser(first, { creditLimit: 5_000 });
      await refuseUpdates(first.db, 'users', `OLD.id = '${customer}'`);
      const orderId = await placeOrderOf(first, customer, 900);
      expect(await deadlinesOf(first.db, orderId)).toBe(1);
      const [{ dueInMs }] = await first.db.query(
        `SELECT ceil(extract(epoch FROM due_at - clock_timestamp()) * 1000)::int AS "dueInMs" FROM order_deadlines WHERE order_id = $1`,
        [orderId],
      );
      expect(await orderDecision(first.db, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });
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

  it('removes the deadline of an order decided before it fell due, leaving the decision as it is', async () => {
    const app = await startTestApp({ env: watching() });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      // No credit answer will come (its reaction paused): only the customer decides the order.
      const orderCredit = `/admin/subscriptions/${encodeURIComponent('reaction:order-credit')}`;
      await app.http().post(`${orderCredit}/pause`).send({ reason: 'held' }).expect(200);
      const orderId = await placeOrderOf(app, customer, 900);
      await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      expect(await deadlinesOf(app.db, orderId)).toBe(1);

      await eventually(async () => expect(await deadlinesOf(app.db, orderId)).toBe(0), 10_000);
      expect(await orderDecision(app.db, orderId)).toEqual({ status: 'CANCELLED', rejection_reason: null });
      expect(await eventsOf(app.db, orderId)).toEqual(['OrderPlaced', 'OrderCancelled']);
    } finally {
      await app.close();
    }
  });
});
