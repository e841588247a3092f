import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import type { Client } from 'pg';
import { OrderConfirmedV1, OrderPlacedV1, SEQUENCE_PROBLEM, UserRegisteredV1 } from '../src/contracts';
import { ATTEMPTS_HEADER, LAST_ERROR_HEADER } from '../src/messaging/message-headers';
import { type ConsumerWithClient, startConsumerWithClient } from './support/api-with-consumer';
import type { ConsumerProcess } from './support/consumer-process';
import { TcpProxy } from './support/tcp-proxy';
import { eventually } from './support/test-app';
import { messageCount, publishRaw, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { testCloudEvent } from './support/test-cloud-events';

// One consumer process with a short retry ladder (200 ms, 400 ms, 3 attempts) whose database
// sits behind a TCP proxy, so a test can take PostgreSQL away from it alone.
const RETRY_DELAYS_MS = [200, 400];
const prefix = uniqueBrokerPrefix();
const topology = testTopology(prefix, RETRY_DELAYS_MS);
let proxy: TcpProxy;
let consumer: ConsumerProcess;
let consumerDb: Client;
let started: ConsumerWithClient | undefined;

beforeAll(async () => {
  proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
  ({ consumer, consumerDb } = started = await startConsumerWithClient(prefix, {
    retryDelaysMs: RETRY_DELAYS_MS,
    consumerMaxAttempts: 3,
    databaseAddress: (databaseUrl) => proxy.rewrite(databaseUrl),
  }));
}, 60_000);

afterAll(async () => {
  await started?.close();
  await proxy?.close();
});

function registered(userId = randomUUID()) {
  return testCloudEvent(UserRegisteredV1, { userId, email: 'r@example.com', name: 'R', registeredAt: new Date().toISOString() }, userId, 1);
}

/** The parked messages (body and headers), left in the dead-letter queue. */
async function parked(): Promise<{ body: Record<string, unknown>; headers: Record<string, unknown> }[]> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    const messages = [];
    for (let message = await channel.get(topology.deadLetterQueue); message; message = await channel.get(topology.deadLetterQueue)) {
      messages.push({ body: JSON.parse(message.content.toString()), headers: message.properties.headers ?? {} });
    }
    await channel.close(); // unacked: back into the queue
    return messages;
  } finally {
    await connection.close();
  }
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return (await consumerDb.query(sql, params)).rows[0].n;
}

describe('an event the consumer can never apply', () => {
  it('is parked after one delivery with a reason naming the attribute and the rule', async () => {
    const valid = registered();
    const { correlationid, ...withoutCorrelationId } = valid;
    const orderId = randomUUID();
    const placed = testCloudEvent(
      OrderPlacedV1,
      { orderId, customerId: 'customer-7', currency: 'EUR', total: 1, lines: [{ sku: 'A', quantity: 1, unitPrice: 1 }], placedAt: valid.time },
      orderId,
      1,
    );
    const cases: [Record<string, unknown>, string][] = [
      [{ ...registered(), id: `evt-${randomUUID()}` }, 'id: must be a UUID (the event id)'],
      [{ ...registered(), subject: `user-${randomUUID()}` }, 'subject: must be a UUID (the aggregate id)'],
      [{ ...withoutCorrelationId, CorrelationId: correlationid }, 'CorrelationId: attribute names must be lower-case letters and digits (CloudEvents); did you mean "correlationid"?'],
      [{ ...registered(), sequence: '2.5' }, SEQUENCE_PROBLEM],
      [{ ...registered(), time: 'last tuesday' }, 'time: must be an RFC 3339 timestamp'],
      [placed, `data.customerId: customerId must be a UUID (contract ${OrderPlacedV1.type})`],
    ];
    for (const [body] of cases) await publishRaw(topology, UserRegisteredV1.type, body);

    await eventually(async () => expect(await messageCount(topology.deadLetterQueue)).toBe(cases.length), 20_000);
    const messages = await parked();
    for (const [body, problem] of cases) {
      const message = messages.find((candidate) => candidate.body.id === body.id);
      expect(message?.headers[LAST_ERROR_HEADER]).toContain(`invalid event: ${problem}`);
      expect(message?.headers[LAST_ERROR_HEADER]).not.toMatch(/QueryFailedError|syntax|INSERT/);
      // Parked on its first delivery: never sent round the retry ladder, never redelivered.
      expect(message?.headers[ATTEMPTS_HEADER]).toBe(0);
      expect(message?.headers['x-delivery-count']).toBeUndefined();
    }
    expect(await count(`SELECT count(*)::int AS n FROM inbox`)).toBe(0);
  });
});

describe('a database outage longer than the retry ladder', () => {
  it('parks nothing: every event published meanwhile is applied once when PostgreSQL is back', async () => {
    const parkedBefore = await messageCount(topology.deadLetterQueue);
    const appliedBefore = await count(`SELECT count(*)::int AS n FROM inbox`);
    const users = Array.from({ length: 10 }, () => registered());
    const orders = Array.from({ length: 5 }, () => {
      const orderId = randomUUID();
      const customerId = randomUUID();
      const at = new Date().toISOString();
      return [
        testCloudEvent(OrderPlacedV1, { orderId, customerId, currency: 'EUR', total: 300, lines: [{ sku: 'O', quantity: 1, unitPrice: 300 }], placedAt: at }, orderId, 1),
        testCloudEvent(OrderConfirmedV1, { orderId, customerId, total: 300, confirmedAt: at }, orderId, 2),
      ];
    });
    const events = [...users, ...orders.flat()];

    await proxy.refuse();
    try {
      for (const event of events) await publishRaw(topology, event.type, event);
      await eventually(async () => expect((await consumer.get('/health')).status).toBe(503));
      // Several times the ladder (0.6 s in all): every delivery would have been parked by now.
      await sleep(5_000);
    } finally {
      await proxy.accept();
    }

    await eventually(async () => expect(await count(`SELECT count(*)::int AS n FROM inbox`)).toBe(appliedBefore + events.length), 30_000);
    expect(await count(`SELECT count(DISTINCT event_id)::int AS n FROM inbox WHERE event_id = ANY($1)`, [events.map((e) => e.id)])).toBe(events.length);
    const customers = orders.map(([placed]) => (placed.data as { customerId: string }).customerId);
    expect(await count(`SELECT sum(orders_placed + orders_confirmed)::int AS n FROM customer_stats WHERE customer_id = ANY($1)`, [customers])).toBe(10);
    expect(await count(`SELECT count(*)::int AS n FROM notifications WHERE event_id = ANY($1)`, [events.map((e) => e.id)])).toBe(15);
    expect(await messageCount(topology.deadLetterQueue)).toBe(parkedBefore);
    expect(consumer.output).not.toMatch(/attempt \d+ of .* failed/);
    expect(consumer.output).toMatch(/holding deliveries and retrying until it answers/);
    await eventually(async () => expect((await consumer.get('/health')).status).toBe(200));
  }, 90_000);
});

describe('a consumer whose queue was deleted under it', () => {
  it('reports 503 while it does not consume, then declares the queue again, consumes, and applies new events', async () => {
    const connection = await amqp.connect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      await channel.deleteQueue(topology.consumerQueue);
      // Someone re-creates it wrong at once, so the consumer cannot take it back until it is fixed.
      await channel.assertQueue(topology.consumerQueue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
      await eventually(async () => {
        const { status, body } = await consumer.get('/health');
        expect(status).toBe(503);
        expect(body.details.consumer).toMatchObject({ status: 'down' });
        expect(body.details.consumer.message).toMatch(new RegExp(`not consuming: RabbitMQ queue '${topology.consumerQueue}' exists with a different '`));
      }, 15_000);
      expect(consumer.output).toMatch(/RabbitMQ cancelled the consumer/);
      await channel.deleteQueue(topology.consumerQueue);
      await channel.close();
    } finally {
      await connection.close();
    }

    await eventually(async () => expect((await consumer.get('/health')).status).toBe(200), 20_000);
    const event = registered();
    await publishRaw(topology, UserRegisteredV1.type, event);
    await eventually(async () => expect(await count(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [event.id])).toBe(1));
  }, 60_000);
});
