import { DataSource } from 'typeorm';
import { dropDatabase } from '../src/database/ensure-database';
import { OrderDeadlineWatcher } from '../src/modules/orders/deadlines/order-deadline-watcher';
import { OrderDeadlines } from '../src/modules/orders/deadlines/order-deadlines';
import { lockUserRow, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { orderDecided, orderDecision, placeOrderOf } from './support/order-decisions';

// A reviewer's attempts at breaking the promise of the deadlines written with the placement: no
// order is rejected for `timeout` because the system lagged, one whose credit step hangs still is
// (once), and nothing is written twice.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function deadlineOf(db: DataSource, orderId: string): Promise<{ creditReached: boolean } | undefined> {
  const [row] = await db.query(`SELECT credit_reached_at IS NOT NULL AS "creditReached" FROM order_deadlines WHERE order_id = $1`, [orderId]);
  return row;
}

async function eventCount(db: DataSource, eventType: string, orderId: string): Promise<number> {
  const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM events WHERE event_type = $1 AND (stream_id::text = $2 OR payload->>'orderId' = $2)`, [
    eventType,
    orderId,
  ]);
  return n;
}

async function creditReservedOf(db: DataSource, customer: string): Promise<number> {
  const [{ reserved }] = await db.query(`SELECT credit_reserved::int AS reserved FROM users WHERE id = $1`, [customer]);
  return reserved;
}

describe('order deadlines under review', () => {
  it('fires a due deadline once when two watchers took it at once: the second finds its wait started again, not due', async () => {
    const env = { ORDER_CONFIRMATION_TIMEOUT_MS: '1000', ORDER_DEADLINE_POLL_MS: '60000' };
    const first = await startTestApp({ env });
    let second: TestApp | undefined;
    try {
      second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env });
      const customer = await registerUser(first, { creditLimit: 5_000 });
      // The credit step waits a moment on the customer's row: the credit reaction is at the order.
      const lock = await lockUserRow(first, customer);
      let orderId: string;
      try {
        orderId = await placeOrderOf(first, customer, 900);
        await sleep(1200);
        // Both processes read the due deadline; the first one fires it before the second claims it.
        const secondDeadlines = second.app.get(OrderDeadlines);
        const poll = secondDeadlines.poll.bind(secondDeadlines);
        const firstWatcher = first.app.get(OrderDeadlineWatcher);
        secondDeadlines.poll = async (limit: number) => {
          const found = await poll(limit);
          expect(found.due.map(({ orderId: id }) => id)).toContain(orderId);
          await firstWatcher.fireDueDeadlines();
          return found;
        };
        await second.app.get(OrderDeadlineWatcher).fireDueDeadlines();
        secondDeadlines.poll = poll;

        // The first one started the order's last wait; the second must leave it to run.
        expect(await orderDecision(first.db, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });
        expect(await deadlineOf(first.db, orderId)).toEqual({ creditReached: true });
      } finally {
        await lock.release();
      }
      expect(await orderDecided(first, orderId, 30_000)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
    } finally {
      await second?.close({ keepDatabase: true });
      await first.close();
    }
  });

  it('does not count a downtime against the last wait: an order seen waiting before it is confirmed after it', async () => {
    const timeoutMs = 3000;
    const env = { ORDER_CONFIRMATION_TIMEOUT_MS: String(timeoutMs), ORDER_DEADLINE_POLL_MS: '50' };
    const first = await startTestApp({ env });
    let customer: string;
    let orderId: string;
    try {
      customer = await registerUser(first, { creditLimit: 5_000 });
      // The credit step waits on the customer's row until the watcher starts the order's last wait.
      const lock = await lockUserRow(first, customer);
      try {
        orderId = await placeOrderOf(first, customer, 900);
        await eventually(async () => expect(await deadlineOf(first.db, orderId)).toEqual({ creditReached: true }), 10_000);
      } finally {
        // Then the system goes down (the lock holder too), long before the last wait ends.
        await first.close({ keepDatabase: true });
        await lock.release();
      }
    } catch (error) {
      await dropDatabase(first.databaseUrl).catch(() => undefined);
      throw error;
    }
    // Nothing runs for longer than the timeout.
    const probe = new DataSource({ type: 'postgres', url: first.databaseUrl });
    await probe.initialize();
    try {
      expect(await orderDecision(probe, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });
      await sleep(timeoutMs + 500);
    } finally {
      await probe.destroy();
    }

    // Back up, the credit step is slow a moment (the row locked 300 ms, as in a start after a
    // downtime): the order is confirmed, as one placed just before the downtime would be.
    const holder = new DataSource({ type: 'postgres', url: first.databaseUrl });
    await holder.initialize();
    const locker = holder.createQueryRunner();
    await locker.startTransaction();
    await locker.query(`SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, [customer]);
    let second: TestApp | undefined;
    try {
      second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env });
      await sleep(300);
      await locker.commitTransaction();
      expect(await orderDecided(second, orderId, 30_000)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
      await holder.destroy();
      await second?.close();
    }
  });

  it('does not count a pause of the credit reaction during the last wait against the order', async () => {
    const timeoutMs = 3000;
    const app = await startTestApp({ env: { ORDER_CONFIRMATION_TIMEOUT_MS: String(timeoutMs), ORDER_DEADLINE_POLL_MS: '60000' } });
    try {
      // The watcher's polls are made here, at the moments that matter.
      const watcher = app.app.get(OrderDeadlineWatcher);
      const orderCredit = `/admin/subscriptions/${encodeURIComponent('reaction:order-credit')}`;
      const customer = await registerUser(app, { creditLimit: 5_000 });
      let lock = await lockUserRow(app, customer);
      const orderId = await placeOrderOf(app, customer, 900);
      let lastWaitFrom: number;
      try {
        // The credit step waits on the row when the deadline falls due: the last wait starts.
        await sleep(timeoutMs + 200);
        await watcher.fireDueDeadlines();
        lastWaitFrom = Date.now();
        expect(await deadlineOf(app.db, orderId)).toEqual({ creditReached: true });
        // An operator pauses the credit reaction for most of the last wait; the row is free once
        // the step in flight gave up waiting for it (lock_timeout, 2 s).
        await app.http().post(`${orderCredit}/pause`).send({ reason: 'maintenance' }).expect(200);
        await sleep(2200);
      } finally {
        await lock.release();
      }
      // A poll while it is paused, before the last wait ends.
      await watcher.fireDueDeadlines();
      // Resumed just before the last wait ends, the credit step is slow a moment (the row locked
      // again) when the watcher looks after it ended.
      lock = await lockUserRow(app, customer);
      try {
        await app.http().post(`${orderCredit}/resume`).expect(200);
        await sleep(Math.max(0, lastWaitFrom + timeoutMs + 200 - Date.now()));
        await watcher.fireDueDeadlines();
        expect(await orderDecision(app.db, orderId)).toEqual({ status: 'PENDING', rejection_reason: null });
      } finally {
        await lock.release();
      }
      await eventually(async () => {
        await watcher.fireDueDeadlines();
        expect(await orderDecision(app.db, orderId)).toEqual({ status: 'CONFIRMED', rejection_reason: null });
      }, 30_000);
    } finally {
      await app.close();
    }
  });

  it('rejects an order whose credit step hangs on a locked row for longer than twice the timeout once, and gives its credit back', async () => {
    const timeoutMs = 1000;
    const app = await startTestApp({ env: { ORDER_CONFIRMATION_TIMEOUT_MS: String(timeoutMs), ORDER_DEADLINE_POLL_MS: '50' } });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      const lock = await lockUserRow(app, customer);
      let orderId: string;
      try {
        orderId = await placeOrderOf(app, customer, 900);
        const placedAt = Date.now();
        expect(await orderDecided(app, orderId, 20_000)).toEqual({ status: 'REJECTED', rejection_reason: 'timeout' });
        // Never sooner than twice the timeout after the placement.
        expect(Date.now() - placedAt).toBeGreaterThanOrEqual(2 * timeoutMs);
        expect(await deadlineOf(app.db, orderId)).toBeUndefined();
      } finally {
        await lock.release();
      }
      // The credit step runs once the row is free; its credit does not stay reserved for the
      // rejected order (declined by it, given back by the Users module).
      await eventually(async () => {
        const [{ n }] = await app.db.query(
          `SELECT count(*)::int AS n FROM reaction_receipts r JOIN events e ON e.event_id = r.event_id
           WHERE r.subscription_id = 'reaction:order-credit' AND e.event_type = 'OrderPlaced' AND e.stream_id = $1`,
          [orderId],
        );
        expect(n).toBeGreaterThan(0);
        expect(await creditReservedOf(app.db, customer)).toBe(0);
      }, 60_000);
      expect(await eventCount(app.db, 'OrderRejected', orderId)).toBe(1);
      expect(await eventCount(app.db, 'OrderConfirmed', orderId)).toBe(0);
      expect(await orderDecision(app.db, orderId)).toEqual({ status: 'REJECTED', rejection_reason: 'timeout' });
    } finally {
      await app.close();
    }
  });
});
