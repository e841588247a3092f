import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { deleteTopology, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { eventually } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/**
 * A process that stops working without dying (SIGSTOP here; a paused VM or a blocked event loop
 * alike) keeps its TCP connections: its kernel answers keepalive. Caught mid-step with a
 * customer's row locked, it would hold up that customer's credit steps in every other process
 * for as long as it stays frozen, and its lease sessions would keep its segments. The server
 * ends both kinds of session once they fall silent (DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
 * LEASE_SESSION_TIMEOUT_MS), and the woken process finishes the step as if its connection had
 * been cut: once.
 */
const TIMEOUT_MS = 2000;
/** The timeout, and the statistics and the test's polling on a shared machine. */
const ENDED_WITHIN_MS = TIMEOUT_MS + 3000;
const CREDIT_LIMIT = 1000;
const ORDER_AMOUNT = 300;

let databaseUrl: string;
let brokerPrefix: string;
let api: ApiProcess | undefined;
let db: Client;
let locker: Client;

beforeEach(async () => {
  databaseUrl = await createTestDatabase();
  brokerPrefix = uniqueBrokerPrefix();
  api = await ApiProcess.start({
    DATABASE_URL: databaseUrl,
    BROKER_PREFIX: brokerPrefix,
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(TIMEOUT_MS),
    LEASE_SESSION_TIMEOUT_MS: String(TIMEOUT_MS),
    // The saga decides the order here, never its deadline.
    ORDER_CONFIRMATION_TIMEOUT_MS: '600000',
  });
  db = new Client({ connectionString: databaseUrl });
  locker = new Client({ connectionString: databaseUrl });
  await Promise.all([db.connect(), locker.connect()]);
});
afterEach(async () => {
  api?.signal('SIGCONT');
  await api?.kill('SIGKILL');
  await Promise.all([db?.end().catch(() => undefined), locker?.end().catch(() => undefined)]);
  await dropDatabase(databaseUrl).catch(() => undefined);
  await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
});

async function rows<T>(client: Client, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query(sql, params)).rows as T[];
}

/** The API's sessions in the test database by what they are doing, as pg_stat_activity shows them now. */
async function apiSessions(): Promise<Array<{ pid: number; application: string; state: string; waiting: string | null; query: string }>> {
  return rows(
    db,
    `SELECT pid, application_name AS application, state, wait_event_type AS waiting, query FROM pg_stat_activity
     WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1)`,
    [(locker as unknown as { processID: number }).processID],
  );
}

it(`ends a frozen process's open transaction and lease sessions within ${ENDED_WITHIN_MS} ms; woken, it decides the order once`, async () => {
  const started = api!;
  const customer = await started.post('/users', { email: `frozen-${brokerPrefix}@example.com`, name: 'Frozen', creditLimit: CREDIT_LIMIT });
  expect(customer.status).toBe(201);
  const customerId = customer.body.id as string;
  await eventually(async () => expect((await apiSessions()).filter(({ application }) => application.startsWith('subscription leases'))).toHaveLength(1));

  // The credit step waits on the customer's row, locked here; the API freezes while it waits.
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [customerId]);
  const order = await started.post('/orders', { customerId, currency: 'EUR', lines: [{ sku: 'FROZEN', quantity: 1, unitPrice: ORDER_AMOUNT }] });
  expect(order.status).toBe(202);
  const [step] = await eventually(async () => {
    const waiting = (await apiSessions()).filter(({ waiting, query }) => waiting === 'Lock' && query.includes('UPDATE users'));
    expect(waiting).toHaveLength(1);
    return waiting;
  }, 5000);
  started.signal('SIGSTOP');
  // The step's update goes through now, and its transaction sits open: its process cannot send COMMIT.
  await locker.query('ROLLBACK');
  await eventually(async () => expect((await apiSessions()).find(({ pid }) => pid === step.pid)?.state).toBe('idle in transaction'), 1000);
  const frozenAt = Date.now();

  // The server ends the silent sessions: the open transaction (its row lock with it) and the leases.
  await eventually(async () => {
    const sessions = await apiSessions();
    expect(sessions.find(({ pid }) => pid === step.pid)).toBeUndefined();
    expect(sessions.filter(({ application }) => application.startsWith('subscription leases') || application.startsWith('lease '))).toEqual([]);
  }, 15_000);
  const endedInMs = Date.now() - frozenAt;
  process.stderr.write(`the frozen process's transaction and lease sessions ended ${endedInMs} ms after SIGSTOP\n`);
  expect(endedInMs).toBeLessThan(ENDED_WITHIN_MS);
  await locker.query('BEGIN');
  await locker.query(`SET LOCAL lock_timeout = '100ms'`);
  await locker.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [customerId]);
  await locker.query('ROLLBACK');
  // What the frozen transaction did is undone.
  const [user] = await rows<{ reserved: string }>(db, 'SELECT credit_reserved::text AS reserved FROM users WHERE id = $1', [customerId]);
  expect(Number(user.reserved)).toBe(0);

  // Woken, the process finds its connections cut, takes its leases again at once (not after the
  // 30 s a process holding everything waits between looks) and decides the order, once.
  started.signal('SIGCONT');
  await eventually(async () => {
    const [decided] = await rows<{ status: string }>(db, 'SELECT status FROM orders WHERE id = $1', [order.body.id]);
    expect(decided.status).toBe('CONFIRMED');
  }, 10_000);
  const [credit] = await rows<{ reserved: string; reservations: number }>(
    db,
    `SELECT u.credit_reserved::text AS reserved,
            (SELECT count(*)::int FROM events WHERE event_type = 'CreditReserved' AND payload->>'orderId' = $2) AS reservations
     FROM users u WHERE u.id = $1`,
    [customerId, order.body.id],
  );
  expect({ reserved: Number(credit.reserved), reservations: credit.reservations }).toEqual({ reserved: ORDER_AMOUNT, reservations: 1 });
  await eventually(async () => expect((await apiSessions()).filter(({ application }) => application.startsWith('subscription leases'))).toHaveLength(1));
}, 60_000);
