import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { OrderConfirmedV1, OrderPlacedV1, UserRegisteredV1 } from '../src/contracts';
import { type ConsumerWithClient, startConsumerWithClient } from './support/api-with-consumer';
import type { ConsumerProcess } from './support/consumer-process';
import { PrometheusScrape } from './support/prometheus-text';
import { rabbitmqctl } from './support/rabbitmqctl';
import type { TcpProxy } from './support/tcp-proxy';
import { eventually } from './support/test-app';
import { messageCount, publishRaw, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { testCloudEvent } from './support/test-cloud-events';
import { startDatabaseProxy } from './support/test-database';

/**
 * The consumer's PostgreSQL vanishing without closing its connections (its machine gone, the
 * network cut: no FIN, no RST), played by a proxy that stops forwarding both ways with both
 * sockets left open; what was sent meanwhile arrives when the network is back, as TCP delivers it.
 * The consumer's statements are bounded by DATABASE_STATEMENT_REPLY_TIMEOUT_MS (its new
 * connections by a 10 s connect timeout): a batch waiting for an answer fails as an outage of the
 * infrastructure, and its deliveries are held unacked and tried again, never acked, retried on the
 * ladder or parked, until PostgreSQL answers. Then each is applied once, also the one whose COMMIT
 * reached PostgreSQL and committed while its answer was lost: the consumer never learnt it was
 * applied, and its next try finds it a duplicate. A stop meanwhile hands what it holds back and
 * ends the pool within 2 s (boundPoolEnd): it used to wait for the connect in progress (10 s) and
 * overran its deadline, exit 1 with the pool still open.
 *
 * Not @exclusive: its proxy, database and broker names are its own, and its time bounds are the
 * consumer's timers with seconds of slack.
 */
const REPLY_TIMEOUT_MS = 2000;
/** The consumer's line when it starts holding deliveries because a statement went unanswered for the bound. */
const GAVE_UP = new RegExp(`holding deliveries and retrying until it answers: .*PostgreSQL did not answer a statement within ${REPLY_TIMEOUT_MS} ms`);
/** What the first failure may take beyond the bound on a loaded machine. */
const SLACK_MS = 3000;
/** CONSUMER_DRAIN_TIMEOUT_MS: how long a stop waits for the deliveries being handled (default 5 s). */
const DRAIN_TIMEOUT_MS = 1000;
/** SHUTDOWN_TIMEOUT_MS, the default: past it the process exits 1, naming what was left open. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const prefix = uniqueBrokerPrefix();
const topology = testTopology(prefix);
let proxy: TcpProxy;
let consumer: ConsumerProcess;
let consumerDb: Client;
let started: ConsumerWithClient | undefined;

beforeAll(async () => {
  proxy = await startDatabaseProxy();
  ({ consumer, consumerDb } = started = await startConsumerWithClient(prefix, {
    databaseAddress: (databaseUrl) => proxy.rewrite(databaseUrl),
    consumerEnv: {
      DATABASE_STATEMENT_REPLY_TIMEOUT_MS: String(REPLY_TIMEOUT_MS),
      CONSUMER_DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    },
  }));
}, 60_000);

afterAll(async () => {
  proxy?.release();
  await started?.close();
  await proxy?.close();
});

function registered(userId = randomUUID()) {
  return testCloudEvent(UserRegisteredV1, { userId, email: `${userId}@example.com`, name: 'R', registeredAt: new Date().toISOString() }, userId, 1);
}

function placedAndConfirmed() {
  const orderId = randomUUID();
  const customerId = randomUUID();
  const at = new Date().toISOString();
  return [
    testCloudEvent(OrderPlacedV1, { orderId, customerId, currency: 'EUR', total: 300, lines: [{ sku: 'O', quantity: 1, unitPrice: 300 }], placedAt: at }, orderId, 1),
    testCloudEvent(OrderConfirmedV1, { orderId, customerId, total: 300, confirmedAt: at }, orderId, 2),
  ];
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await consumerDb.query(sql, params)).rows[0].n;
}

/** The consumer's acks by outcome, from its /metrics; and what it sent to the retry ladder or parked. */
async function settled(): Promise<{ applied: number; duplicate: number; retried: number; deadLettered: number }> {
  const scrape = PrometheusScrape.parse(await (await fetch(`${consumer.url}/metrics`)).text());
  return {
    applied: scrape.sum('eda_consumer_messages_processed_total', { outcome: 'applied' }),
    duplicate: scrape.sum('eda_consumer_messages_processed_total', { outcome: 'duplicate' }),
    retried: scrape.sum('eda_consumer_messages_retried_total'),
    deadLettered: scrape.sum('eda_consumer_messages_dead_lettered_total'),
  };
}

/** Messages of the consumer queue delivered and not acked, as RabbitMQ counts them (its figures lag by up to ~5 s). */
async function unacked(): Promise<number> {
  const { stdout } = await rabbitmqctl(['list_queues', '-q', '--no-table-headers', 'name', 'messages_unacknowledged']);
  const line = stdout.split('\n').find((row) => row.split(/\s+/)[0] === topology.consumerQueue);
  if (!line) throw new Error(`no queue ${topology.consumerQueue} in:\n${stdout}`);
  return Number(line.trim().split(/\s+/)[1]);
}

it('holds what arrives while PostgreSQL is silent, unacked and unparked, with each batch given up within the bound, then applies every event once', async () => {
  const warmUp = registered();
  await publishRaw(topology, warmUp.type, warmUp);
  await eventually(async () => expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [warmUp.id])).toBe(1));
  const before = await settled();
  const events = [...Array.from({ length: 10 }, () => registered()), ...Array.from({ length: 5 }, placedAndConfirmed).flat()];

  proxy.blackHole();
  try {
    const cutAt = Date.now();
    for (const event of events) await publishRaw(topology, event.type, event);
    // The first batch's statement on a pooled connection is given up at the bound, not after the
    // kernel's TCP timeouts (minutes; behind this proxy, never).
    await eventually(async () => expect(consumer.output).toMatch(GAVE_UP), REPLY_TIMEOUT_MS + SLACK_MS);
    process.stderr.write(`the consumer gave its first batch up ${Date.now() - cutAt} ms after the cut\n`);
    // Held, not acked: every event is out with the consumer, unacked; none applied, retried or parked.
    await eventually(async () => expect(await unacked()).toBe(events.length));
    expect(await settled()).toEqual(before);
    expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = ANY($1)`, [events.map((event) => event.id)])).toBe(0);
    expect((await consumer.get('/health/ready')).status).toBe(503);
  } finally {
    proxy.release();
  }

  await eventually(async () => expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = ANY($1)`, [events.map((event) => event.id)])).toBe(events.length), 30_000);
  const customers = events.filter((event) => event.type === OrderPlacedV1.type).map((event) => (event.data as { customerId: string }).customerId);
  expect(await count(`SELECT sum(orders_placed + orders_confirmed)::int AS n FROM customer_stats WHERE customer_id = ANY($1)`, [customers])).toBe(10);
  // A welcome per user, a confirmation per order.
  expect(await count(`SELECT count(*)::int AS n FROM notifications WHERE event_id = ANY($1)`, [events.map((event) => event.id)])).toBe(15);
  const after = await settled();
  expect(after.applied + after.duplicate - before.applied - before.duplicate).toBe(events.length);
  expect({ retried: after.retried, deadLettered: after.deadLettered }).toEqual({ retried: before.retried, deadLettered: before.deadLettered });
  expect(await messageCount(topology.deadLetterQueue)).toBe(0);
  await eventually(async () => expect((await consumer.get('/health/ready')).status).toBe(200));
}, 60_000);

it('applies once an event whose COMMIT reached PostgreSQL while its answer was lost: held unacked until PostgreSQL answers, then acked as a duplicate', async () => {
  // The test holds every COMMIT that recorded an inbox row (a deferred trigger waits for its lock)
  // until the network is cut, then lets it commit: its answer goes into the black hole.
  const locker = new Client({ connectionString: consumer.databaseUrl });
  await locker.connect();
  const lockKey = 4242;
  await consumerDb.query(`CREATE FUNCTION h_listen_commit_waits() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_advisory_xact_lock_shared(${lockKey}); RETURN NULL; END $$`);
  await consumerDb.query(`CREATE CONSTRAINT TRIGGER h_listen_commit_waits AFTER INSERT ON inbox DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION h_listen_commit_waits()`);
  try {
    await locker.query(`SELECT pg_advisory_lock(${lockKey})`);
    const before = await settled();
    const outputBefore = consumer.output.length;
    const event = registered();
    await publishRaw(topology, event.type, event);
    await eventually(async () => {
      const { rows } = await consumerDb.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'consumer %' AND query = 'COMMIT' AND wait_event_type = 'Lock'`,
      );
      expect(rows).toHaveLength(1);
    });

    proxy.blackHole();
    try {
      await locker.query(`SELECT pg_advisory_unlock(${lockKey})`);
      // Committed: PostgreSQL never heard of the consumer leaving.
      await eventually(async () => expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [event.id])).toBe(1));
      await eventually(async () => expect(consumer.output.slice(outputBefore)).toMatch(GAVE_UP), REPLY_TIMEOUT_MS + SLACK_MS);
      // Its outcome unknown to the consumer, the delivery is held: not acked (nor retried, nor parked).
      expect(await settled()).toEqual(before);
    } finally {
      proxy.release();
    }

    // Acked once PostgreSQL answers, as a duplicate: the delivery had been held unsettled until then.
    await eventually(async () => expect(await settled()).toEqual({ ...before, duplicate: before.duplicate + 1 }), 30_000);
    expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [event.id])).toBe(1);
    expect(await count(`SELECT count(*)::int AS n FROM notifications WHERE event_id = $1`, [event.id])).toBe(1);
    expect(await count(`SELECT last_sequence AS n FROM stream_positions WHERE stream_id = $1`, [event.subject])).toBe(1);
  } finally {
    await locker.end();
    await consumerDb.query(`DROP TRIGGER h_listen_commit_waits ON inbox`);
    await consumerDb.query(`DROP FUNCTION h_listen_commit_waits()`);
  }
}, 60_000);

it('stops while PostgreSQL is silent without waiting out its connects, exit 0, handing back what it held', async () => {
  // The delivery's first try is given up at the bound; the next one waits for a new connection,
  // whose handshake goes unanswered (the consumer gives a connect 10 s). The stop used to wait for
  // that connect at the pool's end, past its deadline, and exit 1 with the pool still open.
  const event = registered();
  proxy.blackHole();
  let status: Awaited<ReturnType<ConsumerProcess['kill']>>;
  let stopMs: number;
  try {
    const outputBefore = consumer.output.length;
    await publishRaw(topology, event.type, event);
    await eventually(async () => expect(consumer.output.slice(outputBefore)).toMatch(GAVE_UP), REPLY_TIMEOUT_MS + SLACK_MS);
    const stopAt = Date.now();
    status = await consumer.kill('SIGTERM');
    stopMs = Date.now() - stopAt;
    process.stderr.write(`stopped while PostgreSQL was silent in ${stopMs} ms, ${JSON.stringify(status)}\n`);
  } finally {
    proxy.release();
  }
  // Stopped before its deadline (the drain, then the pool's end: 2 s for the connections to
  // close, then their sockets destroyed), with nothing left open.
  expect(status).toEqual({ code: 0, signal: null });
  expect(stopMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
  // Not applied, and back in the queue for the next consumer (the tests above show it applied once).
  expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [event.id])).toBe(0);
  await eventually(async () => expect(await messageCount(topology.consumerQueue)).toBe(1));
}, 60_000);
