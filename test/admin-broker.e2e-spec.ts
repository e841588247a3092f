import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { UserRegisteredV1 } from '../src/contracts';
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { ConsumerProcess } from './support/consumer-process';
import { placeOrder, registerUser } from './support/fixtures';
import { messageCount, publishRaw, withBrokerChannel } from './support/test-broker';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { testCloudEvent } from './support/test-cloud-events';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';
import { captureMessages, confirmedOrder, strandConfirmationAtV1, waitForReadersIdle } from './support/unpublishable-events';

/** The admin API on RabbitMQ: the consumer's dead letters listed and redriven, a stream republished. */

const CONSUMER_RETRY_DELAYS_MS = [100, 200];
let api: TestApp;
let consumer: ConsumerProcess;
let consumerDb: Client;
let apps: ApiWithConsumer;

beforeAll(async () => {
  // The saga is off: these tests count the events they caused themselves.
  ({ api, consumer, consumerDb } = apps = await startApiWithConsumer({
    apiEnv: { REACTIONS_ENABLED: 'false' },
    consumerMaxAttempts: 2,
    retryDelaysMs: CONSUMER_RETRY_DELAYS_MS,
  }));
}, 60_000);

afterAll(() => apps?.close());

function expectProblem(response: Response, status: number, code: string): void {
  expect({ status: response.status, contentType: response.headers['content-type'], code: response.body.code }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
    code,
  });
}

/** Makes the consumer's notifications refuse these customers (a failing handler) until `healConsumer`. */
async function poisonConsumer(customers: string[]): Promise<void> {
  await consumerDb.query(`CREATE TABLE IF NOT EXISTS test_poisoned (id uuid PRIMARY KEY)`);
  await consumerDb.query(`INSERT INTO test_poisoned (id) SELECT unnest($1::uuid[])`, [customers]);
  await consumerDb.query(`
    CREATE OR REPLACE FUNCTION refuse_poisoned_customer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM test_poisoned WHERE id = NEW.customer_id) THEN RAISE EXCEPTION 'notification service down for this customer'; END IF;
      RETURN NEW;
    END $$`);
  await consumerDb.query(`DROP TRIGGER IF EXISTS refuse_poisoned_customer ON notifications`);
  await consumerDb.query(`CREATE TRIGGER refuse_poisoned_customer BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION refuse_poisoned_customer()`);
}

async function healConsumer(): Promise<void> {
  await consumerDb.query(`DELETE FROM test_poisoned`);
}

/** Publishes a registration the consumer will welcome, as the relay would. */
async function publishRegistration(userId: string): Promise<string> {
  const event = testCloudEvent(UserRegisteredV1, { userId, email: 'dl@example.com', name: 'DL', registeredAt: new Date().toISOString() }, userId, 1);
  await publishRaw(api.topology, UserRegisteredV1.type, event);
  return event.id;
}

async function welcomes(customerId: string): Promise<number> {
  return (await consumer.get(`/notifications?customerId=${customerId}`)).body.items.length;
}

describe('dead letters through the admin API', () => {
  it('lists a parked message without taking it away, refuses an unknown id, and redrives one by id once the cause is fixed', async () => {
    const poisoned = randomUUID();
    await poisonConsumer([poisoned]);
    const messageId = await publishRegistration(poisoned);
    await eventually(async () => expect(await messageCount(api.topology.deadLetterQueue)).toBe(1));

    const listed = await api.http().get('/admin/dead-letters').expect(200);
    expect(listed.body).toEqual({
      queue: api.topology.deadLetterQueue,
      total: 1,
      items: [
        {
          messageId,
          type: UserRegisteredV1.type,
          attempts: 2,
          deadLetteredAt: expect.any(String),
          lastError: expect.stringContaining('notification service down for this customer'),
        },
      ],
    });
    expect(Date.parse(listed.body.items[0].deadLetteredAt)).toBeGreaterThan(Date.now() - 60_000);
    // Listing takes nothing away.
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(1);

    expectProblem(await api.http().post(`/admin/dead-letters/${randomUUID()}/redrive`), 404, 'DEAD_LETTER_NOT_FOUND');
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(1);

    await healConsumer();
    const redriven = await api.http().post(`/admin/dead-letters/${messageId}/redrive`).expect(200);
    expect(redriven.body).toEqual({ matched: 1, redriven: 1, queue: api.topology.consumerQueue });
    await eventually(async () => expect(await welcomes(poisoned)).toBe(1));
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(0);
  }, 30_000);

  it('redrives every parked message at once, and pages the list with limit', async () => {
    const poisoned = [randomUUID(), randomUUID()];
    await poisonConsumer(poisoned);
    for (const customer of poisoned) await publishRegistration(customer);
    await eventually(async () => expect(await messageCount(api.topology.deadLetterQueue)).toBe(2));
    const page = await api.http().get('/admin/dead-letters?limit=1').expect(200);
    expect({ total: page.body.total, items: page.body.items.length }).toEqual({ total: 2, items: 1 });
    expectProblem(await api.http().get('/admin/dead-letters?limit=0'), 400, 'VALIDATION_FAILED');

    await healConsumer();
    const redriven = await api.http().post('/admin/dead-letters/redrive').expect(200);
    expect(redriven.body).toEqual({ matched: 2, redriven: 2, queue: api.topology.consumerQueue });
    for (const customer of poisoned) await eventually(async () => expect(await welcomes(customer)).toBe(1));
    expect((await api.http().get('/admin/dead-letters').expect(200)).body).toMatchObject({ total: 0, items: [] });
    expect((await api.http().post('/admin/dead-letters/redrive').expect(200)).body).toMatchObject({ matched: 0, redriven: 0 });
  }, 30_000);
});

describe('republishing a stream through the admin API', () => {
  it("heals a consumer that lost a stream's messages: every event again, in order, applied once", async () => {
    const relay = api.app.get(OutboxRelay);
    const inboxOf = async (streamId: string) =>
      (await consumerDb.query(`SELECT sequence FROM inbox WHERE stream_id = $1 ORDER BY sequence`, [streamId])).rows.map((row) => row.sequence);
    const customer = await registerUser(api);
    await eventually(async () => expect(await inboxOf(customer)).toEqual([1]), 20_000);

    // Messages lost on the way: the consumer is away and its queue is purged.
    await consumer.kill();
    const order = await placeOrder(api, customer);
    await eventually(async () => expect(await relay.lag()).toBe(0), 20_000);
    await withBrokerChannel((channel) => channel.purgeQueue(api.topology.consumerQueue));
    await api.http().post(`/orders/${order}/cancel`).send({ reason: 'changed my mind' }).expect(202);
    await eventually(async () => expect(await relay.lag()).toBe(0), 20_000);
    await withBrokerChannel((channel) => channel.purgeQueue(api.topology.consumerQueue));
    await consumer.restart();

    const republished = await api.http().post(`/admin/streams/${order}/republish`).expect(200);
    expect(republished.body).toEqual({ streamId: order, events: 2, published: 2, skipped: 0 });
    await eventually(async () => expect(await inboxOf(order)).toEqual([1, 2]), 30_000);
    const { rows: stats } = await consumerDb.query(`SELECT orders_placed, orders_cancelled FROM customer_stats WHERE customer_id = $1`, [customer]);
    expect(stats).toEqual([{ orders_placed: 1, orders_cancelled: 1 }]);

    // What the consumer has already changes nothing in effect.
    await api.http().post(`/admin/streams/${customer}/republish`).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await inboxOf(customer)).toEqual([1]);
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(0);

    expectProblem(await api.http().post(`/admin/streams/${randomUUID()}/republish`), 404, 'STREAM_NOT_FOUND');
    expectProblem(await api.http().post('/admin/streams/not-a-uuid/republish'), 400, 'BAD_REQUEST');
  }, 90_000);
});

describe('republishing a stream that holds an event this code cannot read', () => {
  let own: TestApp | undefined;
  let capture: Awaited<ReturnType<typeof captureMessages>> | undefined;
  afterAll(async () => {
    await capture?.close();
    await own?.close();
  });

  it('publishes the readable events in version order and answers 409 problem+json naming the unreadable one', async () => {
    // The saga on: the order gets confirmed, so its stream holds an OrderConfirmed to strand.
    own = await startTestApp();
    const customer = await registerUser(own, { creditLimit: 100_000 });
    const order = await confirmedOrder(own, customer);
    await own.http().post(`/orders/${order}/ship`).expect(202);
    await waitForReadersIdle(own);
    const unreadable = await strandConfirmationAtV1(own, order);
    const stream: Array<{ event_id: string; event_type: string }> = await own.db.query(
      `SELECT event_id, event_type FROM events WHERE stream_id = $1 ORDER BY stream_version`,
      [order],
    );
    expect(stream.map((event) => event.event_type)).toEqual(['OrderPlaced', 'OrderConfirmed', 'OrderShipped']);

    capture = await captureMessages(own);
    const answer = await own.http().post(`/admin/streams/${order}/republish`);

    expectProblem(answer, 409, 'REPUBLISH_INCOMPLETE');
    expect(answer.body.detail).toContain(`republished 2 of the 3 event(s) of stream ${order}, each confirmed (0 without a contract skipped); 1 event(s) could not be read or mapped and were NOT sent: `);
    expect(answer.body.detail).toContain(
      `OrderConfirmed ${unreadable.eventId} (position ${unreadable.position}, stream ${order} version 2, schema v1) cannot be read: UnreadableEventVersionError: `,
    );
    // The event after the unreadable one went out too: a consumer lacking version 2 holds it back by itself.
    expect(await capture.ids(2)).toEqual([stream[0].event_id, stream[2].event_id]);

    // A stream this code reads whole is answered as before.
    const clean = await own.http().post(`/admin/streams/${customer}/republish`).expect(200);
    expect(clean.body).toMatchObject({ streamId: customer, skipped: 0 });
    expect(clean.body.published).toBe(clean.body.events);
  }, 60_000);
});

describe('the admin API while RabbitMQ cannot be reached', () => {
  let cut: TestApp | undefined;
  afterAll(() => cut?.close());

  it('answers 503 problem+json for the dead letters and for a republish', async () => {
    cut = await startTestApp({
      env: { RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1', REACTIONS_ENABLED: 'false', RELAY_ENABLED: 'false', RELAY_PUBLISH_TIMEOUT_MS: '500' },
    });
    const down = cut;
    expectProblem(await down.http().get('/admin/dead-letters'), 503, 'BROKER_UNAVAILABLE');
    expectProblem(await down.http().post('/admin/dead-letters/redrive'), 503, 'BROKER_UNAVAILABLE');
    const customer = await registerUser(down);
    const failed = await down.http().post(`/admin/streams/${customer}/republish`);
    expectProblem(failed, 503, 'REPUBLISH_FAILED');
    expect(failed.body.detail).toContain('after 0 of 1 event(s) were confirmed');
  }, 30_000);
});
