import { execFile } from 'node:child_process';
import path from 'node:path';
import amqp from 'amqplib';
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';
import { placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { messageCount, TEST_RABBITMQ_URL, withBrokerChannel } from './support/test-broker';
import { captureMessages, confirmedOrder, dropPayloadField, strandConfirmationAtV1, waitForReadersIdle } from './support/unpublishable-events';

const ROOT = path.resolve(__dirname, '..');

/** `npm run republish-events -- ...args` from the build, against this test's database and broker prefix. */
function republish(api: TestApp, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'dist/src/cli/republish-events.js'), ...args],
      {
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: api.databaseUrl, RABBITMQ_URL: TEST_RABBITMQ_URL, BROKER_PREFIX: api.brokerPrefix, ...env },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('npm run republish-events', () => {
  let apps: ApiWithConsumer | undefined;
  /** The first test's API, which the others reuse; started alone when they run without it. */
  let api: TestApp | undefined;

  afterAll(async () => {
    if (apps) await apps.close();
    else await api?.close();
  });

  it("heals a consumer that lost messages: one stream's events, and a position range", async () => {
    apps = await startApiWithConsumer({ apiEnv: { REACTIONS_ENABLED: 'false' } });
    const { consumer, consumerDb: db } = apps;
    api = apps.api;
    const relay = api.app.get(OutboxRelay);
    const inboxOf = async (streamId: string) =>
      (await db.query(`SELECT sequence FROM inbox WHERE stream_id = $1 ORDER BY sequence`, [streamId])).rows.map((row) => row.sequence);

    const customer = await registerUser(api);
    await eventually(async () => expect(await inboxOf(customer)).toEqual([1]), 20_000);

    // Messages lost on the way: the consumer is away and its queue is purged.
    await consumer.kill();
    const order = await placeOrder(api, customer);
    const newcomer = await registerUser(api);
    await eventually(async () => expect(await relay.lag()).toBe(0), 20_000);
    expect((await withBrokerChannel((channel) => channel.purgeQueue(api!.topology.consumerQueue))).messageCount).toBe(2);
    // The order's next event arrives; the consumer holds it back waiting for the lost first one.
    await api.http().post(`/orders/${order}/cancel`).send({ reason: 'changed my mind' }).expect(202);
    await eventually(async () => expect(await relay.lag()).toBe(0), 20_000);
    await consumer.restart();

    const byStream = await republish(api, ['--stream', order]);
    expect(byStream).toMatchObject({ code: 0 });
    expect(byStream.stdout).toContain('republished 2 event(s) of stream');
    await eventually(async () => expect(await inboxOf(order)).toEqual([1, 2]), 30_000);
    const { rows: stats } = await db.query(`SELECT orders_placed, orders_cancelled FROM customer_stats WHERE customer_id = $1`, [customer]);
    expect(stats).toEqual([{ orders_placed: 1, orders_cancelled: 1 }]);

    const [{ position }] = await api.db.query(`SELECT position::text AS position FROM events WHERE stream_id = $1`, [newcomer]);
    const byRange = await republish(api, ['--from-position', position, '--to-position', position]);
    expect(byRange).toMatchObject({ code: 0 });
    expect(byRange.stdout).toContain('republished 1 event(s)');
    await eventually(async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM notifications WHERE kind = 'WELCOME' AND customer_id = $1`, [newcomer]);
      expect(rows[0].n).toBe(1);
    }, 30_000);

    // Republishing what the consumer already has changes nothing in effect.
    expect((await republish(api, ['--stream', customer])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await inboxOf(customer)).toEqual([1]);
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(0);
  }, 120_000);

  it('exits 2 on bad arguments and 1 when nothing matches or the broker cannot be reached', async () => {
    api ??= await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    const bad = await republish(api, ['--from-position', '9', '--to-position', '3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Usage: npm run republish-events');

    const none = await republish(api, ['--stream', '00000000-0000-4000-8000-000000000000']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('no stored event matches');

    const customer = await registerUser(api);
    const unreachable = await republish(api, ['--stream', customer], { RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1', RELAY_PUBLISH_TIMEOUT_MS: '500' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stdout).toContain('FAILED after 0 confirmed event(s)');
  }, 60_000);

  it('sends a position range of many events in position order, each once, whatever the page size', async () => {
    api ??= await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    const relay = api.app.get(OutboxRelay);
    for (let i = 0; i < 25; i++) await registerUser(api);
    await eventually(async () => expect(await relay.lag()).toBe(0), 20_000);
    const stored: Array<{ position: string; event_id: string }> = await api.db.query(
      `SELECT position, event_id FROM events ORDER BY position DESC LIMIT 25`,
    );
    stored.reverse();
    const [first, last] = [stored[0].position, stored[stored.length - 1].position];

    // Positions 1..9 sort before 10 as numbers but not as text: a page must go by the number.
    const connection = await amqp.connect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      const { queue: capture } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(capture, api.topology.exchange, '#');
      const result = await republish(api, ['--from-position', first, '--to-position', last, '--batch-size', '4']);
      expect(result).toMatchObject({ code: 0 });
      expect(result.stdout).toContain('republished 25 event(s)');
      const received: string[] = [];
      await eventually(async () => {
        for (let message = await channel.get(capture, { noAck: true }); message; message = await channel.get(capture, { noAck: true })) {
          received.push(String(message.properties.messageId));
        }
        expect(received).toHaveLength(25);
      }, 20_000);
      expect(received).toEqual(stored.map((event) => event.event_id));
      await channel.close();
    } finally {
      await connection.close();
    }
  }, 60_000);

  it('sends every readable event of a page in order, and names each event it cannot read or map, exiting 3', async () => {
    // The saga on: orders get confirmed, so their streams hold an OrderConfirmed to strand.
    const own = await startTestApp();
    let capture: Awaited<ReturnType<typeof captureMessages>> | undefined;
    try {
      const customer = await registerUser(own, { creditLimit: 100_000 });
      const shipped = await confirmedOrder(own, customer);
      await own.http().post(`/orders/${shipped}/ship`).expect(202);
      const cancelled = await confirmedOrder(own, customer);
      await own.http().post(`/orders/${cancelled}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      await waitForReadersIdle(own);
      // Two rows this code cannot publish, each with events of its own stream and of others before and after it.
      const unreadable = await strandConfirmationAtV1(own, shipped);
      const unmappable = await dropPayloadField(own, cancelled, 'OrderCancelled', 'total');
      const stored: Array<{ position: string; event_id: string; event_type: string }> = await own.db.query(
        `SELECT position, event_id, event_type FROM events ORDER BY position`,
      );
      const readable = stored.map((event) => event.event_id).filter((id) => id !== unreadable.eventId && id !== unmappable.eventId);
      const [first, last] = [stored[0].position, stored[stored.length - 1].position];
      expect(stored.map((event) => event.event_type)).toEqual(expect.arrayContaining(['OrderShipped', 'CreditReleased']));

      capture = await captureMessages(own);
      const result = await republish(own, ['--from-position', first, '--to-position', last]);

      expect(result.code).toBe(3);
      expect(result.stdout).toContain(`republished ${readable.length} event(s) of positions ${first} to ${last}, every one confirmed by the broker; 0 without a published contract skipped`);
      expect(result.stdout).toContain('2 event(s) NOT sent: this code cannot read or map them');
      const named = [
        `not sent: OrderConfirmed ${unreadable.eventId} (position ${unreadable.position}, stream ${shipped} version 2, schema v1) cannot be read: ` +
          'UnreadableEventVersionError: ',
        `not sent: OrderCancelled ${unmappable.eventId} (position ${unmappable.position}, stream ${cancelled} version 3, schema v2) cannot be mapped to its contract: TypeError: `,
      ];
      for (const line of named) {
        expect(result.stdout).toContain(line);
        expect(result.stderr).toContain(line);
      }
      expect(result.stdout).toContain('is stored at schema version 1, and this code reads OrderConfirmed only at v2');
      expect(await capture.ids(readable.length)).toEqual(readable);
    } finally {
      await capture?.close();
      await own.close();
    }
  }, 90_000);
});
