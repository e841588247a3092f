import { Client } from 'pg';
import { ApiProcess } from './support/api-process';
import { uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase } from './support/test-database';
import { eventually, startTestApp, TestApp } from './support/test-app';

const CREDIT_LIMIT = 20_000;
const ORDER_AMOUNT = 500;
const ORDERS_PER_CUSTOMER = 75; // 37,500 asked for, 20,000 available: 40 fit, 35 do not

async function count(db: Client, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query(sql, params);
  return rows[0].n;
}

describe('the order saga across a crash', () => {
  let api: TestApp | undefined;
  let doomed: ApiProcess | undefined;
  let db: Client | undefined;
  afterEach(async () => {
    await doomed?.kill('SIGKILL');
    await db?.end();
    await api?.close();
  });

  it('finishes every saga after the API is SIGKILLed mid-saga, and applies every step once', async () => {
    const databaseUrl = await createTestDatabase();
    const brokerPrefix = uniqueBrokerPrefix();
    // Only the saga may decide orders here, never their deadline.
    const env = { ORDER_CONFIRMATION_TIMEOUT_MS: '600000' };
    doomed = await ApiProcess.start({ DATABASE_URL: databaseUrl, BROKER_PREFIX: brokerPrefix, ...env });
    db = new Client({ connectionString: databaseUrl });
    await db.connect();

    const customers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await doomed.post('/users', { email: `crash-${i}-${brokerPrefix}@example.com`, name: 'Crash', creditLimit: CREDIT_LIMIT });
      expect(response.status).toBe(201);
      customers.push(response.body.id);
    }

    // Orders keep coming while the saga works; the process dies in the middle of both.
    const requests = customers.flatMap((customerId) => Array.from({ length: ORDERS_PER_CUSTOMER }, () => customerId));
    const process = doomed;
    const sending = (async () => {
      for (let i = 0; i < requests.length; i += 8) {
        const batch = requests.slice(i, i + 8).map((customerId) =>
          process
            .post('/orders', { customerId, currency: 'EUR', lines: [{ sku: 'CRASH', quantity: 1, unitPrice: ORDER_AMOUNT }] })
            .catch(() => undefined),
        );
        if ((await Promise.all(batch)).includes(undefined)) return; // the process is gone
      }
    })();
    await eventually(async () => {
      expect(await count(db!, `SELECT count(*)::int AS n FROM orders WHERE status = 'CONFIRMED'`)).toBeGreaterThanOrEqual(40);
    }, 30_000);
    await doomed.kill('SIGKILL');
    await sending;

    const pendingAtKill = await count(db, `SELECT count(*)::int AS n FROM orders WHERE status = 'PENDING'`);
    const placedAtKill = await count(db, `SELECT count(*)::int AS n FROM orders`);
    expect(pendingAtKill).toBeGreaterThan(0);

    api = await startTestApp({ databaseUrl, brokerPrefix, env });

    await eventually(async () => {
      expect(await count(db!, `SELECT count(*)::int AS n FROM orders WHERE status = 'PENDING'`)).toBe(0);
    }, 60_000);
    expect(await count(db, `SELECT count(*)::int AS n FROM orders`)).toBe(placedAtKill);

    // Every order got exactly one answer from the user and exactly one decision.
    const perOrder = await db.query(
      `SELECT o.id,
              count(*) FILTER (WHERE e.event_type IN ('CreditReserved', 'CreditRejected'))::int AS answers,
              count(*) FILTER (WHERE e.event_type = 'CreditReserved')::int AS reservations,
              count(*) FILTER (WHERE e.event_type IN ('OrderConfirmed', 'OrderRejected'))::int AS decisions
       FROM orders o LEFT JOIN events e ON e.payload->>'orderId' = o.id::text
       GROUP BY o.id`,
    );
    for (const row of perOrder.rows) expect(row).toMatchObject({ answers: 1, decisions: 1 });

    // Each user holds exactly the credit of their confirmed orders, never more than the limit.
    for (const customer of customers) {
      const { rows } = await db.query(
        `SELECT u.credit_reserved::int AS reserved,
                (SELECT coalesce(sum(total), 0)::int FROM orders WHERE customer_id = u.id AND status = 'CONFIRMED') AS confirmed
         FROM users u WHERE u.id = $1`,
        [customer],
      );
      expect(rows[0].reserved).toBe(rows[0].confirmed);
      expect(rows[0].reserved).toBeLessThanOrEqual(CREDIT_LIMIT);
      await eventually(async () => {
        expect((await api!.http().get(`/users/${customer}`).expect(200)).body.creditReserved).toBe(rows[0].reserved);
        // The projection, fed after the commits, catches up with it too: its confirmed orders hold that credit.
        const projected = await db!.query(
          `SELECT coalesce(sum(total), 0)::int AS confirmed FROM order_summaries WHERE customer_id = $1 AND status = 'CONFIRMED'`,
          [customer],
        );
        expect(projected.rows[0].confirmed).toBe(rows[0].reserved);
      });
    }
    const [{ parked }] = (await db.query(`SELECT count(*)::int AS parked FROM parked_reactions`)).rows;
    expect(parked).toBe(0);
  }, 180_000);
});
