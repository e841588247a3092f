import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { OrderConfirmedV1, OrderPlacedV1, UserRegisteredV1 } from '../src/contracts';
import { dropDatabase } from '../src/database/ensure-database';
import type { PruneReport } from '../src/database/retention/retention-job';
import { IdempotencyKeyRetention } from '../src/http/idempotency/idempotency-key-retention';
import { ApiProcess } from './support/api-process';
import { type ConsumerWithClient, startConsumerWithClient } from './support/api-with-consumer';
import type { ConsumerProcess } from './support/consumer-process';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { deleteTopology, messageCount, publishRaw, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase, TEST_SERVER_URL } from './support/test-database';
import { testCloudEvent } from './support/test-cloud-events';
import { PrometheusScrape } from './support/prometheus-text';

// Idempotency keys (API) and inbox rows (consumer) are pruned after their retention, in batches,
// with one log line per run; and each process warns at start when its connections alone would
// take more than half of what PostgreSQL allows.

/** A line of `output` that says what `pattern` says at warning level (Nest's text lines, or JSON lines with pino's level 40). */
function warningMatching(output: string, pattern: RegExp): string | undefined {
  return output.split('\n').find((line) => pattern.test(line) && /\bWARN\b|"level":\s*(40|"warn")/.test(line));
}

/** A DATABASE_POOL_SIZE whose pool plus `sessions` comes to one more than half of what the test server allows this role. */
async function poolSizeOverHalf(sessions: number): Promise<number> {
  const client = new Client({ connectionString: `${TEST_SERVER_URL}/postgres` });
  await client.connect();
  try {
    const { rows } = await client.query<{ max: number; reserved: number; superuser: boolean }>(
      `SELECT current_setting('max_connections')::int AS max, current_setting('superuser_reserved_connections')::int AS reserved, rolsuper AS superuser
       FROM pg_roles WHERE rolname = current_user`,
    );
    const { max, reserved, superuser } = rows[0];
    const available = superuser ? max : max - reserved;
    return Math.floor(available / 2) + 1 - sessions;
  } finally {
    await client.end();
  }
}

describe('idempotency keys past their retention', () => {
  let app: TestApp;
  let retention: IdempotencyKeyRetention;

  beforeAll(async () => {
    // Only the run at start (which finds nothing) until the test prunes itself.
    app = await startTestApp({ env: { RETENTION_PRUNE_BATCH_SIZE: '2', RETENTION_PRUNE_INTERVAL_MS: '86400000' } });
    retention = app.app.get(IdempotencyKeyRetention);
  });
  afterAll(async () => {
    await app?.close();
  });

  async function insertKeys(count: number, ageHours: number): Promise<string[]> {
    const keys = Array.from({ length: count }, () => `retention-${randomUUID()}`);
    await app.db.query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, response_status, created_at)
       SELECT 'POST /users', key, 'hash', 201, now() - $2 * interval '1 hour' FROM unnest($1::text[]) AS key`,
      [keys, ageHours],
    );
    return keys;
  }

  async function remaining(keys: string[]): Promise<string[]> {
    const rows: Array<{ key: string }> = await app.db.query(`SELECT key FROM idempotency_keys WHERE key = ANY($1) ORDER BY key`, [keys]);
    return rows.map((row) => row.key);
  }

  it('deletes the keys older than IDEMPOTENCY_KEY_RETENTION_HOURS (24) in batches, keeps the younger ones, and reports the counts', async () => {
    const old = await insertKeys(5, 25);
    const young = [...(await insertKeys(3, 23)), ...(await insertKeys(1, 0))];
    const heard: PruneReport[] = [];
    const unsubscribe = retention.onPruned((report) => heard.push(report));
    try {
      const report = await retention.pruneNow();
      // 5 rows, at most 2 a statement: 2 + 2 + 1 (less than a batch: done).
      expect(report).toEqual({ table: 'idempotency_keys', deleted: 5, statements: 3, retentionHours: 24, durationMs: expect.any(Number) });
      expect(heard).toEqual([report]);
    } finally {
      unsubscribe();
    }
    const scrape = PrometheusScrape.parse((await app.http().get('/metrics').expect(200)).text);
    expect(scrape.value('eda_retention_rows_pruned_total', { table: 'idempotency_keys' })).toBe(5);
    expect(await remaining(old)).toEqual([]);
    expect(await remaining(young)).toEqual([...young].sort());
  });

  it('turns a retry with a pruned key into a new request: the command runs again', async () => {
    const customer = await app.http().post('/users').send({ email: `retention-${randomUUID()}@example.com`, name: 'Retention' }).expect(201);
    const key = `order-${randomUUID()}`;
    const body = { customerId: customer.body.id, currency: 'EUR', lines: [{ sku: 'R', quantity: 1, unitPrice: 100 }] };
    const first = await app.http().post('/orders').set('Idempotency-Key', key).send(body).expect(202);
    const replay = await app.http().post('/orders').set('Idempotency-Key', key).send(body).expect(202);
    expect({ id: replay.body.id, replayed: replay.headers['idempotent-replayed'] }).toEqual({ id: first.body.id, replayed: 'true' });

    await app.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [key]);
    expect((await retention.pruneNow()).deleted).toBe(1);

    const after = await app.http().post('/orders').set('Idempotency-Key', key).send(body).expect(202);
    expect(after.headers['idempotent-replayed']).toBeUndefined();
    expect(after.body.id).not.toBe(first.body.id);
    await app.http().get(`/orders/${first.body.id}`).expect(200);
    await app.http().get(`/orders/${after.body.id}`).expect(200);
  });
});

describe('an API process with a short retention and a pool over half of the server', () => {
  const brokerPrefix = uniqueBrokerPrefix();
  let databaseUrl: string;
  let api: ApiProcess | undefined;
  let db: Client;
  let poolSize: number;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    poolSize = await poolSizeOverHalf(3);
    api = await ApiProcess.start({
      DATABASE_URL: databaseUrl,
      BROKER_PREFIX: brokerPrefix,
      LOG_LEVEL: 'log',
      DATABASE_POOL_SIZE: String(poolSize),
      IDEMPOTENCY_KEY_RETENTION_HOURS: '1',
      RETENTION_PRUNE_INTERVAL_MS: '200',
    });
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
  }, 60_000);
  afterAll(async () => {
    await db?.end();
    await api?.kill('SIGTERM');
    await dropDatabase(databaseUrl);
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
  });

  it('warns at start that its pool and sessions alone take more than half of the connections', () => {
    const warning = warningMatching(
      api!.output,
      new RegExp(
        `this process opens up to ${poolSize + 3} PostgreSQL connections \\(pool ${poolSize}, LISTEN 1, subscription leases 1, relay lease 1\\) ` +
          `of the \\d+ the server allows \\(.*max_connections \\d+.*\\): more than half`,
      ),
    );
    expect(warning).toBeDefined();
  });

  it('prunes expired keys on its own, keeps the young one, and logs one line with the count', async () => {
    await db.query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, response_status, created_at)
       SELECT 'POST /users', 'old-' || n, 'hash', 201, now() - interval '2 hours' FROM generate_series(1, 4) AS n
       UNION ALL SELECT 'POST /users', 'young', 'hash', 201, now() - interval '30 minutes'`,
    );
    await eventually(async () => {
      const { rows } = await db.query<{ key: string }>(`SELECT key FROM idempotency_keys`);
      expect(rows.map((row) => row.key)).toEqual(['young']);
    });
    await eventually(async () =>
      expect(api!.output).toMatch(/pruned 4 idempotency keys older than 1 h from idempotency_keys in 1 statement\(s\), \d+ ms/),
    );
  });
});

describe('an API process connecting as a role with a CONNECTION LIMIT below its pool', () => {
  const role = `budget_${randomUUID().slice(0, 8)}`;
  const brokerPrefix = uniqueBrokerPrefix();
  let databaseUrl: string;
  let api: ApiProcess | undefined;

  /** Runs `sql` on the test server as its superuser. */
  async function asSuperuser(sql: string): Promise<void> {
    const client = new Client({ connectionString: `${TEST_SERVER_URL}/postgres` });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    const name = new URL(databaseUrl).pathname.slice(1);
    await asSuperuser(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 10`);
    await asSuperuser(`ALTER DATABASE ${name} OWNER TO ${role}`);
    const asRole = new URL(databaseUrl);
    asRole.username = role;
    asRole.password = '';
    api = await ApiProcess.start({ DATABASE_URL: asRole.toString(), BROKER_PREFIX: brokerPrefix, LOG_LEVEL: 'log' });
  }, 60_000);
  afterAll(async () => {
    await api?.kill('SIGTERM');
    await dropDatabase(databaseUrl);
    await asSuperuser(`DROP ROLE IF EXISTS ${role}`);
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
  });

  it("warns that the role's limit binds, and advises raising that limit rather than max_connections", () => {
    const warning = warningMatching(
      api!.output,
      /this process opens up to 23 PostgreSQL connections \(pool 20, .*\) of the 10 the server allows \(the role's CONNECTION LIMIT 10\): more than the server allows at all/,
    );
    expect(warning).toBeDefined();
    expect(warning).toMatch(/raise the role's CONNECTION LIMIT/);
    expect(warning).not.toMatch(/max_connections/);
  });
});

describe('a consumer process with a short retention and a pool over half of the server', () => {
  const prefix = uniqueBrokerPrefix();
  const topology = testTopology(prefix);
  let consumer: ConsumerProcess;
  let db: Client;
  let poolSize: number;
  let started: ConsumerWithClient | undefined;

  beforeAll(async () => {
    poolSize = await poolSizeOverHalf(0);
    ({ consumer, consumerDb: db } = started = await startConsumerWithClient(prefix, {
      consumerEnv: {
        LOG_LEVEL: 'log',
        DATABASE_POOL_SIZE: String(poolSize),
        INBOX_RETENTION_HOURS: '1',
        RETENTION_PRUNE_INTERVAL_MS: '200',
        RETENTION_PRUNE_BATCH_SIZE: '2',
      },
    }));
  }, 60_000);
  afterAll(() => started?.close());

  async function count(sql: string, parameters: unknown[] = []): Promise<number> {
    const { rows } = await db.query<{ n: number }>(sql, parameters);
    return rows[0].n;
  }

  it('warns at start that its pool alone takes more than half of the connections', () => {
    const warning = warningMatching(
      consumer.output,
      new RegExp(`this process opens up to ${poolSize} PostgreSQL connections \\(pool ${poolSize}\\) of the \\d+ the server allows .*: more than half`),
    );
    expect(warning).toBeDefined();
  });

  it('prunes inbox rows past the retention in batches, logs the count, and still refuses a late duplicate of a pruned event by its sequence', async () => {
    const orderId = randomUUID();
    const customerId = randomUUID();
    const at = new Date().toISOString();
    const placed = testCloudEvent(OrderPlacedV1, { orderId, customerId, currency: 'EUR', total: 300, lines: [{ sku: 'P', quantity: 1, unitPrice: 300 }], placedAt: at }, orderId, 1);
    const userId = randomUUID();
    const young = testCloudEvent(UserRegisteredV1, { userId, email: 'young@example.com', name: 'Young', registeredAt: at }, userId, 1);
    await publishRaw(topology, placed.type, placed);
    await publishRaw(topology, young.type, young);
    await eventually(async () => expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = ANY($1)`, [[placed.id, young.id]])).toBe(2));
    expect(await count(`SELECT orders_placed AS n FROM customer_stats WHERE customer_id = $1`, [customerId])).toBe(1);

    // The applied OrderPlaced and three other rows age past the retention, together.
    await db.query('BEGIN');
    await db.query(`UPDATE inbox SET applied_at = now() - interval '2 hours' WHERE event_id = $1`, [placed.id]);
    await db.query(
      `INSERT INTO inbox (event_id, type, stream_id, sequence, applied_at)
       SELECT gen_random_uuid(), 'test', gen_random_uuid(), 1, now() - interval '3 hours' FROM generate_series(1, 3)`,
    );
    await db.query('COMMIT');

    await eventually(async () => expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE applied_at < now() - interval '1 hour'`)).toBe(0));
    expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [young.id])).toBe(1);
    // 4 rows, at most 2 a statement: 2 + 2 + 0.
    await eventually(async () => expect(consumer.output).toMatch(/pruned 4 inbox rows older than 1 h from inbox in 3 statement\(s\), \d+ ms/));
    const scrape = PrometheusScrape.parse(await (await fetch(`${consumer.url}/metrics`)).text());
    expect(scrape.value('eda_retention_rows_pruned_total', { table: 'inbox' })).toBe(4);

    // The OrderPlaced comes again, months late as far as the inbox knows: its sequence (1) is at
    // or below its stream's position, so it is a duplicate without its inbox row.
    const parkedBefore = await messageCount(topology.deadLetterQueue);
    await publishRaw(topology, placed.type, placed);
    const confirmed = testCloudEvent(OrderConfirmedV1, { orderId, customerId, total: 300, confirmedAt: at }, orderId, 2);
    await publishRaw(topology, confirmed.type, confirmed);
    await eventually(async () => expect(await count(`SELECT orders_confirmed AS n FROM customer_stats WHERE customer_id = $1`, [customerId])).toBe(1));
    await eventually(async () => expect(await messageCount(topology.consumerQueue)).toBe(0));
    expect(await count(`SELECT orders_placed AS n FROM customer_stats WHERE customer_id = $1`, [customerId])).toBe(1);
    expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [placed.id])).toBe(0);
    expect(await messageCount(topology.deadLetterQueue)).toBe(parkedBefore);
  });
});
