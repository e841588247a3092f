import { Client } from 'pg';
import { dropDatabase } from '../../src/database/ensure-database';
import { ApiProcess } from './api-process';
import { deleteTopology, testTopology, uniqueBrokerPrefix } from './test-broker';
import { eventually } from './test-app';
import { createTestDatabase } from './test-database';

/**
 * Built API processes on one test database, every projection and reaction split into SEGMENTS
 * segments (scale-out and scale-out-sharing): start them, load them with orders, and check that
 * every order was decided once, every read-model row is right and every stream was taken in order.
 */
export const SEGMENTS = 4;
export const CUSTOMERS = 16;
export const CREDIT_LIMIT = 10_000;
export const ORDER_AMOUNT = 700; // 14 of them fit in a customer's credit
export const SUBSCRIPTIONS = ['projection:order-summaries', 'reaction:order-credit', 'reaction:order-fulfilment'];

interface ReaderHealth {
  lagEvents: number;
  segments?: Array<{ segment: number; heldBy: string | null; lagEvents: number }>;
}

const apis: ApiProcess[] = [];
let databaseUrl: string;
let brokerPrefix: string;
let db: Client;

/** Each test its own database and broker prefix; its API processes killed and both removed after it. */
export function eachTestOnItsOwnCluster(): void {
  beforeEach(async () => {
    databaseUrl = await createTestDatabase();
    brokerPrefix = uniqueBrokerPrefix();
  });
  afterEach(async () => {
    await Promise.all(apis.splice(0).map((api) => api.kill('SIGKILL')));
    await db?.end().catch(() => undefined);
    await dropDatabase(databaseUrl).catch(() => undefined);
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
  });
}

export async function startApi(env: Record<string, string> = {}): Promise<ApiProcess> {
  const api = await ApiProcess.start({
    DATABASE_URL: databaseUrl,
    BROKER_PREFIX: brokerPrefix,
    SUBSCRIPTION_SEGMENTS: String(SEGMENTS),
    // Only the saga decides orders here, never their deadline.
    ORDER_CONFIRMATION_TIMEOUT_MS: '600000',
    ...env,
  });
  apis.push(api);
  return api;
}

/** Records every write of the read model, in order, to check that each row only moves forward. */
export async function recordProjectionWrites(): Promise<void> {
  db = new Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(`CREATE TABLE projection_writes (seq bigserial PRIMARY KEY, tbl text NOT NULL, id uuid NOT NULL, version int NOT NULL)`);
  await db.query(`
    CREATE FUNCTION record_projection_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO projection_writes (tbl, id, version) VALUES (TG_TABLE_NAME, NEW.id, NEW.version);
      RETURN NEW;
    END $$`);
  await db.query(`CREATE TRIGGER record_write AFTER INSERT OR UPDATE ON order_summaries FOR EACH ROW EXECUTE FUNCTION record_projection_write()`);
}

export type HealthDetails = { subscriptions: { readers: Record<string, ReaderHealth> }; relay: { relaying?: boolean; lag?: number } };

export async function healthDetails(api: ApiProcess): Promise<HealthDetails> {
  const response = await fetch(`${api.url}/health`);
  const body = (await response.json()) as Partial<Record<'details' | 'info' | 'error', HealthDetails>>;
  return (body.details ?? body.info ?? body.error)!;
}

export async function health(api: ApiProcess): Promise<Record<string, ReaderHealth>> {
  return (await healthDetails(api)).subscriptions.readers;
}

/** Segments of each subscription per lease session, as pg_locks shows them. */
export async function holdings(api: ApiProcess): Promise<Record<string, Record<string, number>>> {
  const readers = await health(api);
  return Object.fromEntries(
    SUBSCRIPTIONS.map((id) => {
      const counts: Record<string, number> = {};
      for (const { heldBy } of readers[id]?.segments ?? []) if (heldBy) counts[heldBy] = (counts[heldBy] ?? 0) + 1;
      return [id, counts];
    }),
  );
}

export async function registerCustomers(api: ApiProcess): Promise<string[]> {
  const customers: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const response = await api.post('/users', { email: `scale-${i}-${brokerPrefix}@example.com`, name: 'Scale', creditLimit: CREDIT_LIMIT });
    expect(response.status).toBe(201);
    customers.push(response.body.id);
  }
  return customers;
}

/**
 * Two API processes on the test database, its projection writes recorded and the customers
 * registered, once every subscription's segments are split two and two between them.
 */
export async function twoProcessesSharingEverySubscription(env: Record<string, string> = {}): Promise<{ first: ApiProcess; second: ApiProcess; customers: string[] }> {
  const first = await startApi(env);
  await recordProjectionWrites();
  const second = await startApi(env);
  const customers = await registerCustomers(first);
  await eventually(async () => {
    const held = await holdings(first);
    for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id]).sort()]).toEqual([id, [SEGMENTS / 2, SEGMENTS / 2]]);
  }, 15_000);
  return { first, second, customers };
}

/** Places `count` orders round-robin over the customers and the live APIs, 16 at a time; returns the ids accepted. */
export async function placeOrders(targets: () => ApiProcess[], customers: string[], count: number): Promise<string[]> {
  const accepted: string[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = Array.from({ length: Math.min(16, count - i) }, async (_, j) => {
      const live = targets();
      const api = live[(i + j) % live.length];
      const customerId = customers[(i + j) % customers.length];
      // A request in flight to a frozen process gets no answer: given up, like one to a killed process.
      const response = await api
        .post('/orders', { customerId, currency: 'EUR', lines: [{ sku: 'SCALE', quantity: 1, unitPrice: ORDER_AMOUNT }] }, { timeoutMs: 10_000 })
        .catch(() => undefined);
      if (response?.status === 202) accepted.push(response.body.id);
    });
    await Promise.all(batch);
  }
  return accepted;
}

export async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query(sql, params)).rows as T[];
}

/** Everything the saga and the projections did, checked against the write models and the store. */
export async function expectEveryOrderDecidedOnceInOrder(api: ApiProcess, accepted: string[]): Promise<void> {
  // Every accepted order decided, by the saga.
  await eventually(async () => {
    const [{ pending }] = await rows<{ pending: number }>(`SELECT count(*)::int AS pending FROM orders WHERE status = 'PENDING'`);
    expect(pending).toBe(0);
  }, 60_000);
  const [{ orders }] = await rows<{ orders: number }>(`SELECT count(*)::int AS orders FROM orders`);
  expect(orders).toBe(accepted.length);

  // Nothing doubled: one decision and at most one reservation per order.
  const doubled = await rows(
    `SELECT stream_id, count(*) FROM events WHERE event_type IN ('OrderConfirmed', 'OrderRejected') GROUP BY stream_id HAVING count(*) > 1
     UNION ALL
     SELECT (payload->>'orderId')::uuid, count(*) FROM events WHERE event_type IN ('CreditReserved', 'CreditRejected')
     GROUP BY payload->>'orderId' HAVING count(*) > 1`,
  );
  expect(doubled).toEqual([]);
  const [{ decided }] = await rows<{ decided: number }>(`SELECT count(*)::int AS decided FROM events WHERE event_type IN ('OrderConfirmed', 'OrderRejected')`);
  expect(decided).toBe(accepted.length);
  // No customer's credit over its limit, and what is reserved is what was confirmed.
  const overdrawn = await rows(
    `SELECT u.id FROM users u
     LEFT JOIN (SELECT customer_id, sum(total) AS confirmed FROM orders WHERE status = 'CONFIRMED' GROUP BY customer_id) o ON o.customer_id = u.id
     WHERE u.credit_reserved > u.credit_limit OR u.credit_reserved <> coalesce(o.confirmed, 0)`,
  );
  expect(overdrawn).toEqual([]);

  // Every reader at the head, and every projection row as its write model.
  await eventually(async () => {
    const readers = await health(api);
    for (const id of SUBSCRIPTIONS) expect([id, readers[id].lagEvents]).toEqual([id, 0]);
  }, 30_000);
  expect(
    await rows(
      `SELECT o.id FROM orders o LEFT JOIN order_summaries s ON s.id = o.id
       WHERE s.id IS NULL OR s.status <> o.status OR s.version <> o.version OR s.total <> o.total`,
    ),
  ).toEqual([]);

  // Order kept: each read-model row was written with ever higher stream versions...
  expect(
    await rows(
      `SELECT tbl, id FROM (
         SELECT tbl, id, version, lag(version) OVER (PARTITION BY tbl, id ORDER BY seq) AS before FROM projection_writes
       ) AS writes WHERE version <= before`,
    ),
  ).toEqual([]);
  // ...and each saga took each customer's events in commit order (a receipt is written in the
  // transaction that acts on the event; its time is that transaction's start).
  expect(
    await rows(
      `SELECT subscription_id, customer, event_id FROM (
         SELECT r.subscription_id, coalesce(e.payload->>'customerId', e.stream_id::text) AS customer, e.event_id, r.recorded_at,
                lag(r.recorded_at) OVER (PARTITION BY r.subscription_id, coalesce(e.payload->>'customerId', e.stream_id::text) ORDER BY e.global_position) AS before
         FROM reaction_receipts r JOIN events e ON e.event_id = r.event_id
         WHERE r.subscription_id IN ('reaction:order-credit', 'reaction:order-fulfilment') AND r.step = '*'
       ) AS taken WHERE recorded_at < before`,
    ),
  ).toEqual([]);
}

