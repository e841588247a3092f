import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import {
  OrderCancelledV1,
  OrderConfirmedV1,
  OrderPlacedV1,
  UserRegisteredV1,
} from '../src/contracts';
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { ConsumerProcess } from './support/consumer-process';
import { registerUser } from './support/fixtures';
import { messageCount, publishRaw } from './support/test-broker';
import { eventually, type TestApp } from './support/test-app';
import { testCloudEvent } from './support/test-cloud-events';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';

const CONSUMER_RETRY_DELAYS_MS = [100, 200];
let api: TestApp;
let consumer: ConsumerProcess;
let consumerDb: Client;
let apps: ApiWithConsumer;

beforeAll(async () => {
  // The saga is off: these tests count the events they caused themselves.
  ({ api, consumer, consumerDb } = apps = await startApiWithConsumer({
    apiEnv: { REACTIONS_ENABLED: 'false' },
    consumerMaxAttempts: 3,
    retryDelaysMs: CONSUMER_RETRY_DELAYS_MS,
  }));
}, 60_000);

afterAll(() => apps?.close());

async function inConsumer<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await consumerDb.query(sql, params)).rows as T[];
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

/** The dead-letter CLI exactly as `npm run dead-letters` runs it. */
async function deadLetters(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.resolve(__dirname, '../dist/src/consumer/cli/dead-letters.js'), ...args], {
    env: { ...process.env, NODE_OPTIONS: '', BROKER_PREFIX: api.brokerPrefix, CONSUMER_RETRY_DELAYS_MS: CONSUMER_RETRY_DELAYS_MS.join(',') },
  });
  return stdout;
}

describe('integration events from the API through RabbitMQ to the consumer app', () => {
  it('applies every event of a burst of 1,000 commands exactly once in effect', async () => {
    const customers = await Promise.all(Array.from({ length: 10 }, () => registerUser(api)));
    const orders: string[] = [];
    await inParallel(Array.from({ length: 1000 }, (_, i) => customers[i % customers.length]), 32, async (customerId) => {
      const response = await api
        .http()
        .post('/orders')
        .send({ customerId, currency: 'EUR', lines: [{ sku: 'BURST', quantity: 1, unitPrice: 500 }] })
        .expect(202);
      orders.push(response.body.id);
    });
    await inParallel(orders.slice(0, 100), 16, async (orderId) => {
      await api.http().post(`/orders/${orderId}/cancel`).send({ reason: 'burst' }).expect(202);
    });
    const [{ stored }] = await api.db.query(`SELECT count(*)::int AS stored FROM events`);
    expect(stored).toBe(10 + 1000 + 100);

    await eventually(async () => {
      const [{ applied }] = await inConsumer<{ applied: number }>(`SELECT count(*)::int AS applied FROM inbox`);
      expect(applied).toBe(stored);
    }, 60_000);

    const stats = await inConsumer<{ placed: number; cancelled: number }>(
      `SELECT sum(orders_placed)::int AS placed, sum(orders_cancelled)::int AS cancelled FROM customer_stats WHERE customer_id = ANY($1)`,
      [customers],
    );
    expect(stats[0]).toEqual({ placed: 1000, cancelled: 100 });
    for (const customerId of customers) {
      const { status, body } = await consumer.get(`/customers/${customerId}/stats`);
      expect(status).toBe(200);
      expect(body.ordersPlaced).toBe(100);
    }
    const notices = await inConsumer<{ kind: string; n: number }>(
      `SELECT kind, count(*)::int AS n FROM notifications WHERE customer_id = ANY($1) GROUP BY kind ORDER BY kind`,
      [customers],
    );
    expect(notices).toEqual([
      { kind: 'ORDER_CANCELLED', n: 100 },
      { kind: 'WELCOME', n: 10 },
    ]);
    // Nothing is left waiting anywhere.
    expect(await api.app.get(OutboxRelay).lag()).toBe(0);
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(0);
  }, 120_000);

  it('applies the same event published three times once', async () => {
    const userId = randomUUID();
    const event = testCloudEvent(UserRegisteredV1, { userId, email: 'thrice@example.com', name: 'Thrice', registeredAt: new Date().toISOString() }, userId, 1);
    await publishRaw(api.topology, UserRegisteredV1.type, event, 3);
    await eventually(async () => {
      const { body } = await consumer.get(`/notifications?customerId=${userId}`);
      expect(body.items).toHaveLength(1);
    });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the other two copies were processed too
    expect((await consumer.get(`/notifications?customerId=${userId}`)).body.items).toHaveLength(1);
    const [{ n }] = await inConsumer<{ n: number }>(`SELECT count(*)::int AS n FROM inbox WHERE event_id = $1`, [event.id]);
    expect(n).toBe(1);
  });

  it('parks invalid messages in the dead-letter queue while healthy traffic keeps flowing', async () => {
    const before = await messageCount(api.topology.deadLetterQueue);
    const userId = randomUUID();
    const valid = testCloudEvent(UserRegisteredV1, { userId, email: 'ok@example.com', name: 'Ok', registeredAt: new Date().toISOString() }, userId, 1);
    await publishRaw(api.topology, UserRegisteredV1.type, Buffer.from('{not json'));
    await publishRaw(api.topology, UserRegisteredV1.type, { hello: 'world' });
    await publishRaw(api.topology, UserRegisteredV1.type, { ...valid, id: randomUUID(), type: 'com.example.unknown.v1' });
    await publishRaw(api.topology, UserRegisteredV1.type, { ...valid, id: randomUUID(), data: { userId: 'not-a-uuid' } });
    await publishRaw(api.topology, UserRegisteredV1.type, valid);

    await eventually(async () => expect(await messageCount(api.topology.deadLetterQueue)).toBe(before + 4));
    await eventually(async () => expect((await consumer.get(`/notifications?customerId=${userId}`)).body.items).toHaveLength(1));
  });

  it("applies one aggregate's events in sequence order when they arrive in reverse", async () => {
    const orderId = randomUUID();
    const customerId = randomUUID();
    const at = new Date().toISOString();
    const placed = testCloudEvent(OrderPlacedV1, { orderId, customerId, currency: 'EUR', total: 700, lines: [{ sku: 'R', quantity: 1, unitPrice: 700 }], placedAt: at }, orderId, 1);
    const confirmed = testCloudEvent(OrderConfirmedV1, { orderId, customerId, total: 700, confirmedAt: at }, orderId, 2);
    const cancelled = testCloudEvent(OrderCancelledV1, { orderId, customerId, reason: 'r', total: 700, wasConfirmed: true, cancelledAt: at }, orderId, 3);
    await publishRaw(api.topology, OrderCancelledV1.type, cancelled);
    await publishRaw(api.topology, OrderConfirmedV1.type, confirmed);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await publishRaw(api.topology, OrderPlacedV1.type, placed);

    await eventually(async () => {
      const rows = await inConsumer<{ sequence: number }>(`SELECT sequence FROM inbox WHERE stream_id = $1 ORDER BY applied_at, sequence`, [orderId]);
      expect(rows.map((row) => row.sequence)).toEqual([1, 2, 3]);
    }, 15_000);
    const applied = await inConsumer<{ event_id: string }>(`SELECT event_id FROM inbox WHERE stream_id = $1 ORDER BY sequence`, [orderId]);
    expect(applied.map((row) => row.event_id)).toEqual([placed.id, confirmed.id, cancelled.id]);
    const { body } = await consumer.get(`/customers/${customerId}/stats`);
    expect(body).toMatchObject({ ordersPlaced: 1, ordersConfirmed: 1, ordersCancelled: 1, totalSpent: 0 });
  });

  it('retries a failing handler with back-off, parks it after exactly N attempts, and redrives it once fixed', async () => {
    const poisoned = randomUUID();
    await consumerDb.query(`
      CREATE FUNCTION refuse_poisoned_customer() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.customer_id = '${poisoned}' THEN RAISE EXCEPTION 'notification service down for this customer'; END IF;
        RETURN NEW;
      END $$`);
    await consumerDb.query(
      `CREATE TRIGGER refuse_poisoned_customer BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION refuse_poisoned_customer()`,
    );
    const parkedBefore = await messageCount(api.topology.deadLetterQueue);
    const registered = (userId: string) =>
      testCloudEvent(UserRegisteredV1, { userId, email: 'p@example.com', name: 'P', registeredAt: new Date().toISOString() }, userId, 1);
    const poison = registered(poisoned);
    await publishRaw(api.topology, UserRegisteredV1.type, poison);
    const healthy = randomUUID();
    await publishRaw(api.topology, UserRegisteredV1.type, registered(healthy));

    await eventually(async () => expect((await consumer.get(`/notifications?customerId=${healthy}`)).body.items).toHaveLength(1));
    await eventually(async () => expect(await messageCount(api.topology.deadLetterQueue)).toBe(parkedBefore + 1));
    // Two failed attempts were sent to the retry queues with growing delays, the third parked it.
    await eventually(async () => {
      expect(consumer.output).toMatch(new RegExp(`attempt 1 of ${poison.id} failed, retrying in 100 ms`));
      expect(consumer.output).toMatch(new RegExp(`attempt 2 of ${poison.id} failed, retrying in 200 ms`));
      expect(consumer.output).toMatch(new RegExp(`parking ${poison.id} in the dead-letter queue`));
    });
    expect(consumer.output).not.toMatch(new RegExp(`attempt 3 of ${poison.id} failed, retrying`));

    const listed = await deadLetters('list');
    const line = listed.split('\n').find((entry) => entry.startsWith(poison.id));
    expect(line).toContain(UserRegisteredV1.type);
    expect(line).toContain('attempts=3');
    expect(line).toContain('notification service down for this customer');
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(parkedBefore + 1); // listing takes nothing away

    await consumerDb.query(`DROP TRIGGER refuse_poisoned_customer ON notifications`);
    expect(await deadLetters('redrive', '--id', poison.id)).toContain('redrove 1 message(s)');
    await eventually(async () => expect((await consumer.get(`/notifications?customerId=${poisoned}`)).body.items).toHaveLength(1));
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(parkedBefore);
  });

  it('reports RabbitMQ and the relay lag on the API health, PostgreSQL and RabbitMQ on the consumer health', async () => {
    const health = await api.http().get('/health').expect(200);
    expect(health.body.details).toMatchObject({
      postgres: { status: 'up' },
      rabbitmq: { status: 'up' },
      relay: { status: 'up', relaying: true },
    });
    expect(typeof health.body.details.relay.lag).toBe('number');
    const consumerHealth = await consumer.get('/health');
    expect(consumerHealth.status).toBe(200);
    expect(consumerHealth.body.details).toMatchObject({ postgres: { status: 'up' }, rabbitmq: { status: 'up' } });
  });
});
