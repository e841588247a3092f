/**
 * @exclusive a saga load on three API processes with failover bounds in seconds: needs the cores
 */
import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { deleteTopology, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { eventually } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/**
 * Two (then three) built API processes on one database, every projection and reaction split into
 * SEGMENTS segments: they share the segments, each aggregate's (and each customer's, for the
 * saga) events are still handled in commit order, nothing is lost or done twice, and a SIGKILLed
 * process's segments move to the survivor within FAILOVER_BOUND_MS.
 */
const SEGMENTS = 4;
/** SUBSCRIPTION_LEASE_LOOK_MS (1 s) plus a batch in hand and the test's own polling. */
const FAILOVER_BOUND_MS = 5000;
/** LEASE_SESSION_TIMEOUT_MS of the frozen-process case: the server ends a silent lease session after it. */
const FROZEN_LEASE_TIMEOUT_MS = 3000;
/** That timeout, SUBSCRIPTION_LEASE_LOOK_MS (1 s), a batch in hand and the test's polling. */
const FROZEN_FAILOVER_BOUND_MS = FROZEN_LEASE_TIMEOUT_MS + FAILOVER_BOUND_MS;
/** ORDER_CONFIRMATION_TIMEOUT_MS of the frozen-process case: rejected no sooner than twice this after placement. */
const FROZEN_ORDER_TIMEOUT_MS = 10_000;
const CUSTOMERS = 16;
const CREDIT_LIMIT = 10_000;
const ORDER_AMOUNT = 700; // 14 of them fit in a customer's credit
const SUBSCRIPTIONS = ['projection:order-summaries', 'reaction:order-credit', 'reaction:order-fulfilment'];

interface ReaderHealth {
  lagEvents: number;
  segments?: Array<{ segment: number; heldBy: string | null; lagEvents: number }>;
}

const apis: ApiProcess[] = [];
let databaseUrl: string;
let brokerPrefix: string;
let db: Client;

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

async function startApi(env: Record<string, string> = {}): Promise<ApiProcess> {
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
async function recordProjectionWrites(): Promise<void> {
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

type HealthDetails = { subscriptions: { readers: Record<string, ReaderHealth> }; relay: { relaying?: boolean; lag?: number } };

async function healthDetails(api: ApiProcess): Promise<HealthDetails> {
  const response = await fetch(`${api.url}/health`);
  const body = (await response.json()) as Partial<Record<'details' | 'info' | 'error', HealthDetails>>;
  return (body.details ?? body.info ?? body.error)!;
}

async function health(api: ApiProcess): Promise<Record<string, ReaderHealth>> {
  return (await healthDetails(api)).subscriptions.readers;
}

/** Segments of each subscription per lease session, as pg_locks shows them. */
async function holdings(api: ApiProcess): Promise<Record<string, Record<string, number>>> {
  const readers = await health(api);
  return Object.fromEntries(
    SUBSCRIPTIONS.map((id) => {
      const counts: Record<string, number> = {};
      for (const { heldBy } of readers[id]?.segments ?? []) if (heldBy) counts[heldBy] = (counts[heldBy] ?? 0) + 1;
      return [id, counts];
    }),
  );
}

async function registerCustomers(api: ApiProcess): Promise<string[]> {
  const customers: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const response = await api.post('/users', { email: `scale-${i}-${brokerPrefix}@example.com`, name: 'Scale', creditLimit: CREDIT_LIMIT });
    expect(response.status).toBe(201);
    customers.push(response.body.id);
  }
  return customers;
}

/** Places `count` orders round-robin over the customers and the live APIs, 16 at a time; returns the ids accepted. */
/**
 * Two API processes on the test database, its projection writes recorded and the customers
 * registered, once every subscription's segments are split two and two between them.
 */
async function twoProcessesSharingEverySubscription(env: Record<string, string> = {}): Promise<{ first: ApiProcess; second: ApiProcess; customers: string[] }> {
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

async function placeOrders(targets: () => ApiProcess[], customers: string[], count: number): Promise<string[]> {
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

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query(sql, params)).rows as T[];
}

/** Everything the saga and the projections did, checked against the write models and the store. */
async function expectEveryOrderDecidedOnceInOrder(api: ApiProcess, accepted: string[]): Promise<void> {
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

describe(`two API processes, every subscription split into ${SEGMENTS} segments`, () => {
  it('share the segments under a load of orders: every order decided once, every row right, every stream in order', async () => {
    const { first, second, customers } = await twoProcessesSharingEverySubscription();

    // 15 per customer: 14 fit in the credit, the 15th is rejected.
    const accepted = await placeOrders(() => [first, second], customers, 240);
    expect(accepted.length).toBe(240);
    await expectEveryOrderDecidedOnceInOrder(second, accepted);
    // Some orders over the limit were rejected, the others confirmed.
    const [{ confirmed, rejected }] = await rows<{ confirmed: number; rejected: number }>(
      `SELECT count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed, count(*) FILTER (WHERE status = 'REJECTED')::int AS rejected FROM orders`,
    );
    expect(confirmed).toBe(CUSTOMERS * Math.floor(CREDIT_LIMIT / ORDER_AMOUNT));
    expect(rejected).toBe(240 - confirmed);
  }, 180_000);

  it(`move a SIGKILLed process's segments to the other within ${FAILOVER_BOUND_MS} ms, mid-load, losing and doubling nothing`, async () => {
    const { first, second: doomed, customers } = await twoProcessesSharingEverySubscription();

    let live = [first, doomed];
    const sending = placeOrders(() => live, customers, 400);
    // Once the saga is busy, the second process dies; the load goes on against the first.
    await eventually(async () => {
      const [{ n }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status <> 'PENDING'`);
      expect(n).toBeGreaterThanOrEqual(60);
    }, 30_000);
    live = [first];
    await doomed.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(async () => {
      const held = await holdings(first);
      for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id])]).toEqual([id, [SEGMENTS]]);
    }, 20_000);
    const movedInMs = Date.now() - killedAt;
    process.stderr.write(`segments moved to the survivor ${movedInMs} ms after SIGKILL\n`);
    expect(movedInMs).toBeLessThan(FAILOVER_BOUND_MS);

    const accepted = await sending;
    // Requests in flight to the killed process may have committed without an answer.
    const [{ n: committed }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM orders`);
    expect(committed).toBeGreaterThanOrEqual(accepted.length);
    const all = (await rows<{ id: string }>(`SELECT id FROM orders`)).map(({ id }) => id);
    for (const id of accepted) expect(all).toContain(id);
    await expectEveryOrderDecidedOnceInOrder(first, all);
  }, 180_000);

  it(`move a frozen (SIGSTOPped) process's segments and relay leadership to the other within ${FROZEN_FAILOVER_BOUND_MS} ms, mid-load, no order timing out`, async () => {
    const { first, second, customers } = await twoProcessesSharingEverySubscription({
      LEASE_SESSION_TIMEOUT_MS: String(FROZEN_LEASE_TIMEOUT_MS),
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(FROZEN_LEASE_TIMEOUT_MS),
      // Long against the lease's timeout, short against the frozen time: a frozen process that kept
      // its credit reaction's segments would see its customers' orders rejected for `timeout`.
      ORDER_CONFIRMATION_TIMEOUT_MS: String(FROZEN_ORDER_TIMEOUT_MS),
    });
    // The relay's leader is frozen, so that its leadership must move too.
    const frozen = (await healthDetails(first)).relay.relaying ? first : second;
    const survivor = frozen === first ? second : first;
    expect((await healthDetails(frozen)).relay.relaying).toBe(true);

    let live = [first, second];
    const sending = placeOrders(() => live, customers, 240);
    await eventually(async () => {
      const [{ n }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status <> 'PENDING'`);
      expect(n).toBeGreaterThanOrEqual(60);
    }, 30_000);
    live = [survivor];
    frozen.signal('SIGSTOP');
    const frozenAt = Date.now();
    try {
      // A frozen process's kernel still answers TCP keepalive: only the lease session's silence tells.
      await eventually(async () => {
        const held = await holdings(survivor);
        for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id])]).toEqual([id, [SEGMENTS]]);
        expect((await healthDetails(survivor)).relay.relaying).toBe(true);
      }, 30_000);
      const movedInMs = Date.now() - frozenAt;
      process.stderr.write(`segments and relay leadership moved to the survivor ${movedInMs} ms after SIGSTOP\n`);
      expect(movedInMs).toBeLessThan(FROZEN_FAILOVER_BOUND_MS);

      const accepted = await sending;
      // Every order decided while the other process is still frozen, by the saga: none timed out.
      await eventually(async () => {
        const [{ pending }] = await rows<{ pending: number }>(`SELECT count(*)::int AS pending FROM orders WHERE status = 'PENDING'`);
        expect(pending).toBe(0);
      }, 60_000);
      for (const id of accepted) expect((await rows(`SELECT 1 FROM orders WHERE id = $1`, [id])).length).toBe(1);
      // Its transactions ended with their sessions: none is left open, holding row locks.
      expect(
        await rows(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'
           AND clock_timestamp() - state_change > make_interval(secs => $1)`,
          [(FROZEN_LEASE_TIMEOUT_MS + 1000) / 1000],
        ),
      ).toEqual([]);
    } finally {
      frozen.signal('SIGCONT');
    }
    // Woken, it finds its leases gone and takes its share back; nothing it did is done twice.
    await eventually(async () => {
      const held = await holdings(survivor);
      for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id]).sort()]).toEqual([id, [SEGMENTS / 2, SEGMENTS / 2]]);
    }, 30_000);
    const all = (await rows<{ id: string }>(`SELECT id FROM orders`)).map(({ id }) => id);
    await expectEveryOrderDecidedOnceInOrder(survivor, all);
    expect(await rows(`SELECT id FROM orders WHERE rejection_reason = 'timeout'`)).toEqual([]);
    // Every event relayed, by the survivor while the leader was frozen and by whoever leads now.
    await eventually(async () => expect((await healthDetails(survivor)).relay.lag).toBe(0), 30_000);
  }, 180_000);

  it('give a third process its share when it joins (rebalance), and keep every order decided once', async () => {
    const { first, second, customers } = await twoProcessesSharingEverySubscription();

    let live = [first, second];
    const sending = placeOrders(() => live, customers, 240);
    const joinedAt = Date.now();
    const third = await startApi();
    live = [first, second, third];
    // Four segments over three processes: 2 + 1 + 1.
    await eventually(async () => {
      const held = await holdings(first);
      for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id]).sort()]).toEqual([id, [1, 1, 2]]);
    }, 20_000);
    process.stderr.write(`the third process held its share ${Date.now() - joinedAt} ms after it was started (process start included)\n`);
    const accepted = await sending;
    expect(accepted.length).toBe(240);
    await expectEveryOrderDecidedOnceInOrder(third, accepted);
  }, 180_000);
});
