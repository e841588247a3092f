import { lockUserRow, placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

// README: "different customers never wait for each other", and an order's deadline must not be
// held back long by a credit step waiting on a lock. A customer whose user row is locked elsewhere
// (a long transaction) must not hold back the orders of another customer.

describe('a customer whose user row is locked elsewhere', () => {
  it("holds back neither the deadline nor the decision of another customer's order", async () => {
    const app = await startTestApp({ env: { ORDER_CONFIRMATION_TIMEOUT_MS: '60000' } });
    const blocked = await registerUser(app, { creditLimit: 5_000 });
    const other = await registerUser(app, { creditLimit: 5_000 });
    const lock = await lockUserRow(app, blocked);
    try {
      const blockedOrder = await placeOrder(app, blocked);
      // The saga took the blocked customer's OrderPlaced: its deadline stands, its credit step waits on the lock.
      await eventually(async () => {
        const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM order_deadlines WHERE order_id = $1`, [blockedOrder]);
        expect(n).toBe(1);
      });
      // Past the chunk's 2 s lock_timeout: the credit step now waits alone, without a timeout.
      await new Promise((resolve) => setTimeout(resolve, 2500));

      const otherOrder = await placeOrder(app, other);
      const started = Date.now();
      const seen = await eventually(
        async () => {
          const [row] = await app.db.query(
            `SELECT o.status, EXISTS (SELECT 1 FROM order_deadlines d WHERE d.order_id = o.id) AS "deadline",
                    EXISTS (SELECT 1 FROM events e WHERE e.stream_id = o.id AND e.event_type = 'OrderPlaced'
                            AND EXISTS (SELECT 1 FROM reaction_receipts r WHERE r.event_id = e.event_id AND r.step = '*')) AS "taken"
             FROM orders o WHERE o.id = $1`,
            [otherOrder],
          );
          expect(row.status).toBe('CONFIRMED');
          return row;
        },
        8_000,
      ).catch(async (error) => {
        const [row] = await app.db.query(
          `SELECT o.status, EXISTS (SELECT 1 FROM order_deadlines d WHERE d.order_id = o.id) AS "deadline" FROM orders o WHERE o.id = $1`,
          [otherOrder],
        );
        throw new Error(`after ${Date.now() - started} ms the other customer's order is ${JSON.stringify(row)}: ${String(error)}`);
      });
      expect(seen.status).toBe('CONFIRMED');
    } finally {
      await lock.release();
      await app.close();
    }
  }, 40_000);
});
