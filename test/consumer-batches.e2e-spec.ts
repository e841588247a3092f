import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import type { Client } from 'pg';
import { OrderConfirmedV1, OrderPlacedV1, UserRegisteredV1, wrapInCloudEvent } from '../src/contracts';
import { type ConsumerWithClient, startConsumerWithClient } from './support/api-with-consumer';
import { ConsumerProcess } from './support/consumer-process';
import { eventually } from './support/test-app';
import { messageCount, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { testCloudEvent } from './support/test-cloud-events';

// One consumer process that gathers deliveries for 20 ms (longer than the default 5 ms, so that a
// burst published at once reliably lands in few batches on a busy machine) and a short retry
// ladder (100 ms, 200 ms, 3 attempts).
const RETRY_DELAYS_MS = [100, 200];
const prefix = uniqueBrokerPrefix();
const topology = testTopology(prefix, RETRY_DELAYS_MS);
let consumer: ConsumerProcess;
let consumerDb: Client;
let started: ConsumerWithClient | undefined;

beforeAll(async () => {
  ({ consumer, consumerDb } = started = await startConsumerWithClient(prefix, {
    retryDelaysMs: RETRY_DELAYS_MS,
    consumerMaxAttempts: 3,
    consumerEnv: { CONSUMER_BATCH_GATHER_MS: '20' },
  }));
}, 60_000);

afterAll(() => started?.close());

type CloudEvent = ReturnType<typeof wrapInCloudEvent>;

function registered(userId = randomUUID()): CloudEvent {
  return testCloudEvent(UserRegisteredV1, { userId, email: 'b@example.com', name: 'B', registeredAt: new Date().toISOString() }, userId, 1);
}

/** Order `orderId` of `customerId`: placed (sequence 1), then confirmed (2) for `total`. */
function orderEvents(orderId: string, customerId: string, total: number): [CloudEvent, CloudEvent] {
  const at = new Date().toISOString();
  return [
    testCloudEvent(OrderPlacedV1, { orderId, customerId, currency: 'EUR', total, lines: [{ sku: 'B', quantity: 1, unitPrice: total }], placedAt: at }, orderId, 1),
    testCloudEvent(OrderConfirmedV1, { orderId, customerId, total, confirmedAt: at }, orderId, 2),
  ];
}

/** Publishes every event, in this order, on one channel, and waits for the broker's confirms. */
async function publishAll(events: CloudEvent[]): Promise<void> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    for (const event of events) {
      channel.publish(topology.exchange, event.type, Buffer.from(JSON.stringify(event)), {
        persistent: true,
        contentType: 'application/cloudevents+json',
      });
    }
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await consumerDb.query(sql, params)).rows as T[];
}

async function appliedCount(events: CloudEvent[]): Promise<number> {
  const [{ n }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE event_id = ANY($1)`, [events.map((event) => event.id)]);
  return n;
}

/** The transactions that recorded `events` in the inbox: one xmin each (the inbox writes no savepoints). */
async function transactionsThatApplied(events: CloudEvent[]): Promise<number> {
  const [{ n }] = await rows<{ n: number }>(`SELECT count(DISTINCT xmin::text)::int AS n FROM inbox WHERE event_id = ANY($1)`, [
    events.map((event) => event.id),
  ]);
  return n;
}

async function queuesDrained(): Promise<void> {
  await eventually(async () => {
    expect(await messageCount(topology.consumerQueue)).toBe(0);
    expect(await messageCount(topology.reorderQueue.name)).toBe(0);
    for (const retry of topology.retryQueues) expect(await messageCount(retry.name)).toBe(0);
  });
}

describe('a burst of deliveries', () => {
  it('is applied in far fewer transactions than events, every effect once, each order in sequence', async () => {
    const customers = Array.from({ length: 10 }, () => randomUUID());
    const orders = Array.from({ length: 100 }, (_, i) => ({ orderId: randomUUID(), customerId: customers[i % 10], total: 100 + i }));
    const events = [
      ...customers.map((customerId) => registered(customerId)),
      // Placed then confirmed for every order, interleaved across orders as a busy API would publish them.
      ...orders.map(({ orderId, customerId, total }) => orderEvents(orderId, customerId, total)).flat(),
    ];

    await publishAll(events);
    await eventually(async () => expect(await appliedCount(events)).toBe(events.length), 30_000);

    const transactions = await transactionsThatApplied(events);
    expect(transactions).toBeLessThanOrEqual(events.length / 10);
    const stats = await rows<{ customer_id: string; placed: number; confirmed: number; spent: number }>(
      `SELECT customer_id, orders_placed AS placed, orders_confirmed AS confirmed, total_spent::int AS spent
       FROM customer_stats WHERE customer_id = ANY($1) ORDER BY customer_id`,
      [customers],
    );
    expect(stats).toHaveLength(10);
    for (const row of stats) {
      const own = orders.filter((order) => order.customerId === row.customer_id);
      expect(row).toMatchObject({ placed: 10, confirmed: 10, spent: own.reduce((sum, order) => sum + order.total, 0) });
    }
    const [{ notices }] = await rows<{ notices: number }>(`SELECT count(*)::int AS notices FROM notifications WHERE customer_id = ANY($1)`, [customers]);
    expect(notices).toBe(10 + 100); // a welcome per customer, a confirmation per order
    const outOfOrder = await rows(
      `SELECT placed.stream_id FROM inbox placed JOIN inbox confirmed ON confirmed.stream_id = placed.stream_id
       WHERE placed.sequence = 1 AND confirmed.sequence = 2 AND placed.stream_id = ANY($1) AND placed.applied_at >= confirmed.applied_at`,
      [orders.map((order) => order.orderId)],
    );
    expect(outOfOrder).toEqual([]);
    const positions = await rows<{ last_sequence: number }>(`SELECT last_sequence FROM stream_positions WHERE stream_id = ANY($1)`, [
      orders.map((order) => order.orderId),
    ]);
    expect(positions.map((position) => position.last_sequence)).toEqual(Array(100).fill(2));
    await queuesDrained();
  }, 60_000);
});

describe('a poison message inside a batch', () => {
  afterEach(async () => {
    await consumerDb.query(`DROP TRIGGER IF EXISTS refuse_poisoned_customer ON notifications`);
    await consumerDb.query(`DROP FUNCTION IF EXISTS refuse_poisoned_customer()`);
  });

  it('fails alone: the rest of its batch is applied, it is retried and parked as before', async () => {
    const poisoned = randomUUID();
    await consumerDb.query(`
      CREATE FUNCTION refuse_poisoned_customer() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.customer_id = '${poisoned}' THEN RAISE EXCEPTION 'notification service down for this customer'; END IF;
        RETURN NEW;
      END $$`);
    await consumerDb.query(`CREATE TRIGGER refuse_poisoned_customer BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION refuse_poisoned_customer()`);
    const parkedBefore = await messageCount(topology.deadLetterQueue);
    const healthy = Array.from({ length: 20 }, () => registered());
    const poison = registered(poisoned);
    await publishAll([...healthy.slice(0, 10), poison, ...healthy.slice(10)]);

    await eventually(async () => expect(await appliedCount(healthy)).toBe(healthy.length));
    await eventually(async () => expect(await messageCount(topology.deadLetterQueue)).toBe(parkedBefore + 1));
    expect(await appliedCount([poison])).toBe(0);
    // The batch it came in failed as a whole and was applied event by event.
    expect(consumer.output).toMatch(/a batch of ([2-9]|\d\d+) event\(s\) failed, applying each alone: notification service down/);
    expect(consumer.output).toMatch(new RegExp(`attempt 1 of ${poison.id} failed, retrying in 100 ms`));
    expect(consumer.output).toMatch(new RegExp(`attempt 2 of ${poison.id} failed, retrying in 200 ms`));
    expect(consumer.output).toMatch(new RegExp(`parking ${poison.id} in the dead-letter queue`));
    for (const event of healthy) expect(consumer.output).not.toContain(`of ${event.id} failed`);
    await queuesDrained();
  });
});

describe('duplicates', () => {
  it('are dropped within one batch and across batches', async () => {
    const orderId = randomUUID();
    const customerId = randomUUID();
    const [placed, confirmed] = orderEvents(orderId, customerId, 700);
    const parkedBefore = await messageCount(topology.deadLetterQueue);
    await publishAll([placed, placed, confirmed, placed, confirmed]);
    await eventually(async () => expect(await appliedCount([placed, confirmed])).toBe(2));
    await queuesDrained();

    await publishAll([confirmed, placed, registered(customerId)]); // the next batch: two copies of what was applied
    await eventually(async () => expect((await consumer.get(`/notifications?customerId=${customerId}`)).body.items).toHaveLength(2));
    await queuesDrained();

    const [stats] = await rows(`SELECT orders_placed, orders_confirmed, total_spent::int AS total_spent FROM customer_stats WHERE customer_id = $1`, [
      customerId,
    ]);
    expect(stats).toEqual({ orders_placed: 1, orders_confirmed: 1, total_spent: 700 });
    const [{ n }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE stream_id = $1`, [orderId]);
    expect(n).toBe(2);
    expect(await messageCount(topology.deadLetterQueue)).toBe(parkedBefore);
  });
});

describe('an event past a gap in its stream', () => {
  it('comes too early while the in-order events of its batch apply, and applies once the gap is filled', async () => {
    const streamId = randomUUID();
    const customerId = randomUUID();
    const at = new Date().toISOString();
    const [placed, confirmed] = orderEvents(streamId, customerId, 300);
    // Sequences 1, 2 and 4 in one batch; 3 comes later. (Any type will do for 3 and 4: the inbox orders by sequence alone.)
    const third = testCloudEvent(OrderConfirmedV1, { orderId: streamId, customerId, total: 1, confirmedAt: at }, streamId, 3);
    const afterGap = testCloudEvent(OrderConfirmedV1, { orderId: streamId, customerId, total: 2, confirmedAt: at }, streamId, 4);
    await publishAll([placed, confirmed, afterGap]);

    await eventually(async () => expect(await appliedCount([placed, confirmed])).toBe(2));
    expect(await transactionsThatApplied([placed, confirmed])).toBe(1); // one batch decided all three
    await sleep(500); // the reorder queue brought the early one back at least once
    expect(await appliedCount([afterGap])).toBe(0);
    const [position] = await rows<{ last_sequence: number }>(`SELECT last_sequence FROM stream_positions WHERE stream_id = $1`, [streamId]);
    expect(position.last_sequence).toBe(2);

    await publishAll([third]);
    await eventually(async () => {
      const applied = await rows<{ sequence: number }>(`SELECT sequence FROM inbox WHERE stream_id = $1 ORDER BY applied_at`, [streamId]);
      expect(applied.map((row) => row.sequence)).toEqual([1, 2, 3, 4]);
    }, 15_000);
    await queuesDrained();
  });
});

describe('two consumer processes sharing the queue and the database', () => {
  let another: ConsumerProcess | undefined;
  afterAll(async () => {
    await another?.kill(); // not stop(): that drops the database the first process still uses
  });

  it('apply a burst over shared customers once, each order in sequence, without deadlocks', async () => {
    another = await ConsumerProcess.startAnother(consumer);
    const customers = Array.from({ length: 5 }, () => randomUUID());
    const orders = Array.from({ length: 200 }, (_, i) => ({ orderId: randomUUID(), customerId: customers[i % 5], total: 10 }));
    const events = orders.map(({ orderId, customerId, total }) => orderEvents(orderId, customerId, total)).flat();
    // In four bursts, so that both processes hold batches over the same customers at the same time.
    for (let from = 0; from < events.length; from += 100) await publishAll(events.slice(from, from + 100));

    await eventually(async () => expect(await appliedCount(events)).toBe(events.length), 30_000);
    const stats = await rows<{ placed: number; confirmed: number; spent: number }>(
      `SELECT orders_placed AS placed, orders_confirmed AS confirmed, total_spent::int AS spent FROM customer_stats WHERE customer_id = ANY($1)`,
      [customers],
    );
    expect(stats).toEqual(Array(5).fill({ placed: 40, confirmed: 40, spent: 400 }));
    const outOfOrder = await rows(
      `SELECT placed.stream_id FROM inbox placed JOIN inbox confirmed ON confirmed.stream_id = placed.stream_id
       WHERE placed.sequence = 1 AND confirmed.sequence = 2 AND placed.stream_id = ANY($1) AND placed.applied_at >= confirmed.applied_at`,
      [orders.map((order) => order.orderId)],
    );
    expect(outOfOrder).toEqual([]);
    await queuesDrained();
    expect(`${consumer.output}${another.output}`).not.toMatch(/deadlock/i);
  }, 60_000);
});
