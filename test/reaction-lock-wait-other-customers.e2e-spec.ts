import { lockUserRow, placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

// README: "different customers never wait for each other", and an order's deadline never waits
// for a credit step: it is written in the statement that places the order
// (OrderDeadlines.ofPlacement). A customer whose user row is locked elsewhere (a long
// transaction) holds back neither the orders of another customer nor the deadlines of its own.

const TIMEOUT_MS = 60_000;

/** Until a session of the app waits for a lock on `users`: the credit step, on the locked row. */
async function creditStepWaitsOnTheLock(app: TestApp): Promise<void> {
  await eventually(async () => {
    const [{ n }] = await app.db.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%users%'`,
    );
    expect(n).toBeGreaterThan(0);
  }, 10_000);
}

/** The order's deadline as it stands: caused by its OrderPlaced, due about TIMEOUT_MS from now. */
async function deadlineOf(app: TestApp, orderId: string): Promise<unknown[]> {
  return app.db.query(
    `SELECT d.causation_id = e.event_id AS "causedByPlacement",
            d.due_at > clock_timestamp() + make_interval(secs => $2::double precision / 1000 - 30) AS "dueFromPlacement",
            o.status
     FROM order_deadlines d JOIN orders o ON o.id = d.order_id
     JOIN events e ON e.stream_id = o.id AND e.event_type = 'OrderPlaced'
     WHERE d.order_id = $1`,
    [orderId, TIMEOUT_MS],
  );
}

const standing = [{ causedByPlacement: true, dueFromPlacement: true, status: 'PENDING' }];

describe('a customer whose user row is locked elsewhere', () => {
  let app: TestApp;
  beforeEach(async () => {
    app = await startTestApp({ env: { ORDER_CONFIRMATION_TIMEOUT_MS: String(TIMEOUT_MS) } });
  });
  afterEach(() => app?.close());

  it("holds back neither the deadline nor the decision of another customer's order", async () => {
    const blocked = await registerUser(app, { creditLimit: 5_000 });
    const other = await registerUser(app, { creditLimit: 5_000 });
    const lock = await lockUserRow(app, blocked);
    try {
      const blockedOrder = await placeOrder(app, blocked);
      // Its deadline stands from its placement; its credit step waits on the lock.
      expect(await deadlineOf(app, blockedOrder)).toEqual(standing);
      await creditStepWaitsOnTheLock(app);
      // Past the chunk's 2 s lock_timeout: the credit step now waits alone, without a timeout.
      await new Promise((resolve) => setTimeout(resolve, 2500));

      const otherOrder = await placeOrder(app, other);
      expect(await deadlineOf(app, otherOrder)).toEqual(standing);
      const started = Date.now();
      const seen = await eventually(
        async () => {
          const [row] = await app.db.query(
            `SELECT o.status, EXISTS (SELECT 1 FROM events e WHERE e.stream_id = o.id AND e.event_type = 'OrderPlaced'
                            AND EXISTS (SELECT 1 FROM reaction_receipts r WHERE r.event_id = e.event_id AND r.step = '*')) AS "taken"
             FROM orders o WHERE o.id = $1`,
            [otherOrder],
          );
          expect(row.status).toBe('CONFIRMED');
          return row;
        },
        8_000,
      ).catch(async (error) => {
        const [row] = await app.db.query(`SELECT o.status FROM orders o WHERE o.id = $1`, [otherOrder]);
        throw new Error(`after ${Date.now() - started} ms the other customer's order is ${JSON.stringify(row)}: ${String(error)}`);
      });
      expect(seen.status).toBe('CONFIRMED');
      // The blocked customer's order still waits for its credit, with its deadline.
      expect(await deadlineOf(app, blockedOrder)).toEqual(standing);
    } finally {
      await lock.release();
    }
  }, 40_000);

  it('gives each of its orders a deadline from its placement, though their credit steps wait on the lock', async () => {
    const customer = await registerUser(app, { creditLimit: 50_000 });
    const lock = await lockUserRow(app, customer);
    let first: string;
    let second: string;
    try {
      first = await placeOrder(app, customer);
      await creditStepWaitsOnTheLock(app);
      second = await placeOrder(app, customer);
      // Both stand as soon as the orders are placed: nothing is waited for.
      expect({ first: await deadlineOf(app, first), second: await deadlineOf(app, second) }).toEqual({ first: standing, second: standing });
      // And the credit steps are still held: no answer for either order yet.
      await creditStepWaitsOnTheLock(app);
      const [{ answers }] = await app.db.query(
        `SELECT count(*)::int AS answers FROM events WHERE event_type IN ('CreditReserved', 'CreditRejected') AND payload->>'orderId' = ANY($1)`,
        [[first, second]],
      );
      expect(answers).toBe(0);
    } finally {
      await lock.release();
    }
    // Released, both are decided by their credit.
    await eventually(async () => {
      const rows = await app.db.query(`SELECT status FROM orders WHERE id = ANY($1)`, [[first, second]]);
      expect(rows).toEqual([{ status: 'CONFIRMED' }, { status: 'CONFIRMED' }]);
    }, 15_000);
  }, 40_000);
});
