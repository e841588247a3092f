import { randomUUID } from 'node:crypto';
import { ConsumerProcess } from './support/consumer-process';
import { TcpProxy } from './support/tcp-proxy';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { deleteTopology, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix, withBrokerChannel } from './support/test-broker';
import { createTestDatabase, TEST_SERVER_URL } from './support/test-database';

// Liveness, readiness and the details, for the API and the consumer. RabbitMQ and PostgreSQL are
// taken away from the process under test alone, through TCP proxies: the servers the other tests
// share keep running.

const RABBITMQ = { host: '127.0.0.1', port: Number(new URL(TEST_RABBITMQ_URL).port || 5672) };
const POSTGRES = { host: '127.0.0.1', port: Number(new URL(TEST_SERVER_URL).port || 5432) };

/** Puts `count` messages into the dead-letter queue, as the consumer parks them. */
async function park(queue: string, count: number): Promise<void> {
  await withBrokerChannel(async (channel) => {
    for (let i = 0; i < count; i++) channel.sendToQueue(queue, Buffer.from('{}'), { persistent: true, messageId: randomUUID() });
  });
}

describe('the API behind proxies to RabbitMQ and PostgreSQL', () => {
  let broker: TcpProxy;
  let database: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    broker = await TcpProxy.start(RABBITMQ);
    database = await TcpProxy.start(POSTGRES);
    app = await startTestApp({ databaseUrl: database.rewrite(await createTestDatabase()), env: { RABBITMQ_URL: broker.rewrite(TEST_RABBITMQ_URL) } });
  });
  afterAll(async () => {
    await broker.accept();
    await database.accept();
    await app?.close();
    await broker.close();
    await database.close();
  });

  it('answers live, ready and the details with 200 "ok" while both answer, and counts the dead letters', async () => {
    await park(app.topology.deadLetterQueue, 2);
    const details = await app.http().get('/health').expect(200);
    expect(details.body.status).toBe('ok');
    expect(details.body.details).toMatchObject({
      postgres: { status: 'up' },
      rabbitmq: { status: 'up', connected: true, blocked: false },
      relay: { status: 'up', lag: expect.any(Number) },
      deadLetters: { status: 'up', queue: app.topology.deadLetterQueue, messages: 2 },
      reactions: { status: 'up', parked: 0 },
      subscriptions: { status: 'up', stopped: [] },
    });
    expect((await app.http().get('/health/live').expect(200)).body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
    const ready = (await app.http().get('/health/ready').expect(200)).body;
    expect(ready).toMatchObject({ status: 'ok', error: {}, details: { postgres: { status: 'up' } } });
    expect(Object.keys(ready.details)).toEqual(['postgres']); // neither the broker nor the readers
  });

  it('stays live and ready without RabbitMQ, answers /health 200 "degraded", and still accepts commands', async () => {
    await broker.refuse();
    try {
      await eventually(async () => {
        const { status, body } = await app.http().get('/health');
        expect({ status, overall: body.status }).toEqual({ status: 200, overall: 'degraded' });
        expect(body.details.rabbitmq).toMatchObject({ status: 'degraded', connected: false, message: expect.stringMatching(/^not connected to RabbitMQ/) });
        expect(body.details.deadLetters).toMatchObject({ status: 'degraded', message: expect.stringMatching(/^cannot read the dead-letter queue/) });
        expect(body.details.postgres).toMatchObject({ status: 'up' });
        expect(body.error).toEqual({});
      });
      await app.http().get('/health/live').expect(200);
      expect((await app.http().get('/health/ready').expect(200)).body.status).toBe('ok');

      const user = await app.http().post('/users').send({ email: `degraded-${randomUUID()}@example.com`, name: 'Degraded' }).expect(201);
      const order = await app.http().post('/orders').send({ customerId: user.body.id, currency: 'EUR', lines: [{ sku: 'A', quantity: 1, unitPrice: 100 }] });
      expect(order.status).toBe(202);
      expect((await app.http().get('/health').expect(200)).body.details.relay.lag).toBeGreaterThan(0);
    } finally {
      await broker.accept();
    }
    // Back: the relay sends what the outbox held, and the details say "ok" again.
    await eventually(async () => {
      const { status, body } = await app.http().get('/health');
      expect({ status, overall: body.status, lag: body.details.relay.lag }).toEqual({ status: 200, overall: 'ok', lag: 0 });
    }, 20_000);
  });

  it('is not ready without PostgreSQL (503, terminus shape) but still live, and ready again once it is back', async () => {
    await database.refuse();
    try {
      await eventually(async () => {
        const { status, body } = await app.http().get('/health/ready');
        expect(status).toBe(503);
        expect(body).toMatchObject({ status: 'error', error: { postgres: { status: 'down' } }, details: { postgres: { status: 'down' } } });
      });
      await app.http().get('/health/live').expect(200);
      const details = await app.http().get('/health');
      expect(details.status).toBe(503);
      expect(details.body).toMatchObject({ status: 'error', error: { postgres: { status: 'down' } } });
    } finally {
      await database.accept();
    }
    await eventually(async () => expect((await app.http().get('/health/ready')).status).toBe(200), 20_000);
  });

  /** GETs `path`, waiting 8 s at most: an answer that takes longer counts as none (status 0). */
  const timed = async (path: string) => {
    const startedAt = performance.now();
    const response = await app
      .http()
      .get(path)
      .timeout(8_000)
      .catch(() => ({ status: 0, body: undefined, text: '' }));
    return { path, status: response.status, ms: performance.now() - startedAt, body: response.body, text: response.text };
  };

  it('answers the probes, the details and /metrics in bounded time while PostgreSQL hangs (accepts, never answers)', async () => {
    database.hold();
    try {
      const live = await timed('/health/live');
      expect({ path: live.path, status: live.status, fast: live.ms < 1_000 }).toEqual({ path: '/health/live', status: 200, fast: true });
      const [ready, details, metrics] = await Promise.all([timed('/health/ready'), timed('/health'), timed('/metrics')]);
      // Each answers within the 2 s the database gets, plus slack for a loaded machine.
      expect([ready, details, metrics].map(({ path, status, ms }) => ({ path, status, bounded: ms < 5_000 }))).toEqual([
        { path: '/health/ready', status: 503, bounded: true },
        { path: '/health', status: 503, bounded: true },
        { path: '/metrics', status: 200, bounded: true },
      ]);
      expect(details.body.details.postgres).toMatchObject({ status: 'down' });
      // The figures that show the hang are still served: requests queue for the pool.
      expect(metrics.text).toMatch(/^eda_db_pool_connections_in_use \d+$/m);
      // Asked again, still bounded: a scrape or probe does not queue behind the hung ones.
      const again = await Promise.all([timed('/health'), timed('/metrics')]);
      expect(again.map(({ path, status, ms }) => ({ path, status, bounded: ms < 5_000 }))).toEqual([
        { path: '/health', status: 503, bounded: true },
        { path: '/metrics', status: 200, bounded: true },
      ]);
    } finally {
      database.release();
    }
    await eventually(async () => expect((await app.http().get('/health')).status).toBe(200), 20_000);
  }, 60_000);

  it('answers the probes, the details and /metrics in bounded time while RabbitMQ hangs', async () => {
    broker.hold();
    try {
      const answers = await Promise.all([timed('/health/live'), timed('/health/ready'), timed('/health'), timed('/metrics')]);
      expect(answers.map(({ path, status, ms }) => ({ path, status, bounded: ms < 5_000 }))).toEqual([
        { path: '/health/live', status: 200, bounded: true },
        { path: '/health/ready', status: 200, bounded: true },
        { path: '/health', status: 200, bounded: true },
        { path: '/metrics', status: 200, bounded: true },
      ]);
      expect(answers[2].body.details.deadLetters).toMatchObject({ status: 'degraded' });
    } finally {
      broker.release();
    }
    await eventually(async () => expect((await app.http().get('/health')).body.status).toBe('ok'), 20_000);
  }, 60_000);
});

describe('the consumer behind a proxy to RabbitMQ', () => {
  const prefix = uniqueBrokerPrefix();
  const topology = testTopology(prefix);
  let broker: TcpProxy;
  let consumer: ConsumerProcess;

  beforeAll(async () => {
    broker = await TcpProxy.start(RABBITMQ);
    consumer = await ConsumerProcess.start(prefix, { RABBITMQ_URL: broker.rewrite(TEST_RABBITMQ_URL) });
  }, 60_000);
  afterAll(async () => {
    await broker.accept();
    await consumer?.stop();
    await broker.close();
    await deleteTopology(topology).catch(() => undefined);
  });

  it('is ready with its database, RabbitMQ and an active consumer, and shows the dead letters on /health', async () => {
    await park(topology.deadLetterQueue, 3);
    const ready = await consumer.get('/health/ready');
    expect(ready).toMatchObject({
      status: 200,
      body: { status: 'ok', error: {}, details: { postgres: { status: 'up' }, rabbitmq: { status: 'up' }, consumer: { status: 'up' } } },
    });
    expect(Object.keys(ready.body.details).sort()).toEqual(['consumer', 'postgres', 'rabbitmq']);
    const details = await consumer.get('/health');
    expect(details.status).toBe(200);
    expect(details.body.details.deadLetters).toEqual({ status: 'up', messages: 3 });
    expect((await consumer.get('/health/live')).body.status).toBe('ok');
  });

  it('is not ready without RabbitMQ (no connection, no consumer) but still live, and ready again once it is back', async () => {
    await broker.refuse();
    try {
      await eventually(async () => {
        const { status, body } = await consumer.get('/health/ready');
        expect(status).toBe(503);
        expect(body).toMatchObject({
          status: 'error',
          error: { rabbitmq: { status: 'down' }, consumer: { status: 'down', message: expect.stringMatching(/^not consuming/) } },
          details: { postgres: { status: 'up' } },
        });
      }, 15_000);
      expect((await consumer.get('/health/live')).status).toBe(200);
      expect((await consumer.get('/health')).status).toBe(503);
    } finally {
      await broker.accept();
    }
    await eventually(async () => expect((await consumer.get('/health/ready')).status).toBe(200), 20_000);
  });
});

describe('the consumer started while RabbitMQ is unreachable', () => {
  const prefix = uniqueBrokerPrefix();
  let broker: TcpProxy;
  let consumer: ConsumerProcess | undefined;

  beforeAll(async () => {
    broker = await TcpProxy.start(RABBITMQ);
    await broker.refuse();
  });
  afterAll(async () => {
    await broker.accept();
    await consumer?.stop();
    await broker.close();
    await deleteTopology(testTopology(prefix)).catch(() => undefined);
  });

  it('answers live at once and ready 503 while it waits for the broker, then ready once it consumes', async () => {
    consumer = await ConsumerProcess.start(prefix, { RABBITMQ_URL: broker.rewrite(TEST_RABBITMQ_URL) }, { until: 'listening' });
    expect((await consumer.get('/health/live')).status).toBe(200);
    const ready = await consumer.get('/health/ready');
    expect(ready).toMatchObject({ status: 503, body: { error: { rabbitmq: { status: 'down' }, consumer: { status: 'down' } }, details: { postgres: { status: 'up' } } } });
    await broker.accept();
    await eventually(async () => expect((await consumer!.get('/health/ready')).status).toBe(200), 20_000);
  }, 40_000);

  it('stops on SIGTERM while it waits for the broker, exit 0', async () => {
    await broker.refuse();
    const waiting = await ConsumerProcess.start(uniqueBrokerPrefix(), { RABBITMQ_URL: broker.rewrite(TEST_RABBITMQ_URL) }, { until: 'listening' });
    try {
      expect((await waiting.get('/health/ready')).status).toBe(503);
      expect(await waiting.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await waiting.stop();
    }
  }, 40_000);
});

describe('a burst of anonymous probes and scrapes', () => {
  let database: TcpProxy;
  let app: TestApp;
  beforeAll(async () => {
    database = await TcpProxy.start(POSTGRES);
    app = await startTestApp({ databaseUrl: database.rewrite(await createTestDatabase()) });
  });
  afterAll(async () => {
    database.latency(0);
    await app?.close();
    await database.close();
  });

  it('says "ok" on the first /health after start: the dead letters are counted once the publisher\'s connection opens', async () => {
    const { body } = await app.http().get('/health').expect(200);
    expect(body.details).toMatchObject({ rabbitmq: { status: 'up', connected: true }, deadLetters: { status: 'up', messages: 0 } });
    expect(body.status).toBe('ok');
  });

  it('costs the database one round of queries at a time, whatever the number of requests in flight, leaving the pool to commands', async () => {
    const pool = (app.db.driver as unknown as { master: { totalCount: number; idleCount: number; waitingCount: number } }).master;
    const peak = { inUse: 0, waiting: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak.inUse = Math.max(peak.inUse, pool.totalCount - pool.idleCount);
        peak.waiting = Math.max(peak.waiting, pool.waitingCount);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await app.app.listen(0, '127.0.0.1');
    const url = await app.app.getUrl();
    const paths = ['/health', '/health/ready', '/metrics'];
    // Every statement takes 100 ms: requests that arrive together are in flight together.
    database.latency(100);
    // Over many connections at once, as a flood would come (supertest would send them one server at a time).
    const answers = await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        const response = await fetch(`${url}${paths[i % paths.length]}`);
        return { path: paths[i % paths.length], status: response.status, text: await response.text() };
      }),
    );
    sampling = false;
    await sampler;
    database.latency(0);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    for (const answer of answers.filter(({ path }) => path === '/health')) expect(JSON.parse(answer.text)).toMatchObject({ status: 'ok' });
    for (const answer of answers.filter(({ path }) => path === '/metrics')) expect(answer.text).toMatch(/^eda_subscription_lag_events\{/m);
    // /health reads 4 things, /health/ready 1, /metrics 2: 7 connections at most, one round of each.
    expect(peak).toEqual({ inUse: expect.any(Number), waiting: 0 });
    expect(peak.inUse).toBeLessThanOrEqual(10);
  });
});
