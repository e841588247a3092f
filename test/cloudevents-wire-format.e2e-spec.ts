import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { CloudEvent, HTTP } from 'cloudevents';
import { Client } from 'pg';
import {
  CLOUD_EVENTS_CONTENT_TYPE,
  OrderCancelledV1,
  OrderPlacedV1,
  toCloudEventsApplicationProperties,
  UserEmailChangedV1,
  UserRegisteredV1,
  wrapInCloudEvent,
} from '../src/contracts';
import { LAST_ERROR_HEADER } from '../src/messaging/message-headers';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';
import { placeOrder, registerUser, uniqueEmail } from './support/fixtures';
import { eventually, type TestApp } from './support/test-app';
import { messageCount, TEST_RABBITMQ_URL } from './support/test-broker';

// The wire format of integration events (issue 12, point 4): what an outside CloudEvents consumer
// reads from a queue of its own, and the project's consumer taking the earlier form and the
// current one of the same stream during a rollout.
let api: TestApp;
let consumerDb: Client;
let apps: ApiWithConsumer;
let outside: amqp.ChannelModel;

beforeAll(async () => {
  // The saga is off: the test counts the events it caused itself.
  ({ api, consumerDb } = apps = await startApiWithConsumer({
    apiEnv: { REACTIONS_ENABLED: 'false' },
    consumerMaxAttempts: 3,
    retryDelaysMs: [100, 200],
  }));
  outside = await amqp.connect(TEST_RABBITMQ_URL);
}, 60_000);

afterAll(async () => {
  await outside?.close();
  await apps?.close();
});

interface Received {
  event: CloudEvent<unknown>;
  headers: Record<string, unknown>;
  contentType: unknown;
  messageId: unknown;
}

/**
 * A server-named, exclusive queue of the test's own, bound to the topic exchange for every routing
 * key, as another service would subscribe; each message is read with the cloudevents SDK alone.
 */
async function subscribeAsOutsider(): Promise<{ received: Received[]; unreadable: string[] }> {
  const channel = await outside.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, api.topology.exchange, '#');
  const received: Received[] = [];
  const unreadable: string[] = [];
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      const contentType = message.properties.contentType as string;
      try {
        const event = HTTP.toEvent({ headers: { 'content-type': contentType }, body: message.content.toString('utf8') });
        if (Array.isArray(event) || !(event instanceof CloudEvent)) throw new Error('not one CloudEvent');
        received.push({ event, headers: message.properties.headers ?? {}, contentType, messageId: message.properties.messageId });
      } catch (error) {
        unreadable.push(`${message.properties.messageId}: ${String(error)}`);
      }
    },
    { noAck: true },
  );
  return { received, unreadable };
}

/** Publishes `body` to the exchange under its type as routing key, in structured mode with `headers` and the AMQP properties the relay sets, confirmed. */
async function publish(body: { id: string; type: string }, headers: Record<string, unknown>): Promise<void> {
  const channel = await outside.createConfirmChannel();
  try {
    channel.publish(api.topology.exchange, body.type, Buffer.from(JSON.stringify(body)), {
      persistent: true,
      messageId: body.id,
      type: body.type,
      contentType: CLOUD_EVENTS_CONTENT_TYPE,
      headers,
    });
    await channel.waitForConfirms();
  } finally {
    await channel.close();
  }
}

describe('integration events as an outside CloudEvents consumer reads them', () => {
  it('carry source per aggregate type, a zero-padded sequence that sorts as stream order, and cloudEvents: headers equal to the attributes', async () => {
    const { received, unreadable } = await subscribeAsOutsider();
    const userId = await registerUser(api);
    // Versions 2..11: the stream crosses 9 → 10, where an unpadded sequence sorts "10" before "9".
    for (let i = 0; i < 10; i++) await api.http().put(`/users/${userId}/email`).send({ email: uniqueEmail('moved') }).expect(204);
    const orderId = await placeOrder(api, userId);
    await api.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);

    const ofUser = () => received.filter(({ event }) => event.subject === userId);
    const ofOrder = () => received.filter(({ event }) => event.subject === orderId);
    await eventually(async () => {
      expect(ofUser()).toHaveLength(11);
      expect(ofOrder()).toHaveLength(2);
    }, 20_000);
    expect(unreadable).toEqual([]);

    for (const { event, headers, contentType, messageId } of [...ofUser(), ...ofOrder()]) {
      expect(contentType).toBe(CLOUD_EVENTS_CONTENT_TYPE);
      expect(messageId).toBe(event.id);
      expect(event.specversion).toBe('1.0');
      expect(event.sequence).toMatch(/^[0-9]{20}$/);
      // Every attribute but datacontenttype and data, once more as an application property.
      const { data, datacontenttype, ...attributes } = event.toJSON() as Record<string, unknown>;
      expect(datacontenttype).toBe('application/json');
      expect(data).toBeInstanceOf(Object);
      const prefixed = Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('cloudEvents:')));
      const present = Object.entries(attributes).filter(([, value]) => value !== undefined); // the SDK lists absent ones as undefined
      expect(prefixed).toEqual(Object.fromEntries(present.map(([name, value]) => [`cloudEvents:${name}`, String(value)])));
      expect(Object.keys(prefixed)).toEqual(
        expect.arrayContaining(['id', 'source', 'type', 'specversion', 'time', 'subject', 'correlationid', 'causationid', 'sequence'].map((name) => `cloudEvents:${name}`)),
      );
    }
    expect(new Set(ofUser().map(({ event }) => event.source))).toEqual(new Set(['/eda/users']));
    expect(new Set(ofOrder().map(({ event }) => event.source))).toEqual(new Set(['/eda/orders']));

    // Sorting by sequence as plain strings gives each stream's order, and the CloudEvent ids are
    // the stored events' ids (what the consumer's inbox deduplicates by).
    const byStringSequence = (events: Received[]) => events.map(({ event }) => event).sort((a, b) => (String(a.sequence) < String(b.sequence) ? -1 : 1));
    const userEvents = byStringSequence(ofUser());
    expect(userEvents.map((event) => Number(event.sequence))).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(userEvents.map((event) => event.type)).toEqual([UserRegisteredV1.type, ...Array(10).fill(UserEmailChangedV1.type)]);
    expect(byStringSequence(ofOrder()).map((event) => event.type)).toEqual([OrderPlacedV1.type, OrderCancelledV1.type]);
    const stored = await api.db.query(`SELECT event_id FROM events WHERE stream_id = $1 ORDER BY stream_version`, [userId]);
    expect(userEvents.map((event) => event.id)).toEqual(stored.map((row: { event_id: string }) => row.event_id));
  });
});

describe('the consumer during a rollout of the wire format', () => {
  /** Version `version` of user `userId`'s stream, in the form an earlier relay published (unpadded, /eda/api, bare headers) or the current one. */
  function userEvent(userId: string, version: number, form: 'earlier' | 'current', id: string = randomUUID()) {
    const at = new Date().toISOString();
    const [contract, data] =
      version === 1
        ? [UserRegisteredV1, { userId, email: uniqueEmail(), name: 'Rollout', registeredAt: at }]
        : [UserEmailChangedV1, { userId, email: uniqueEmail(), changedAt: at }];
    const current = wrapInCloudEvent(contract, data, {
      id,
      source: '/eda/users',
      subject: userId,
      time: at,
      correlationId: 'rollout',
      causationId: 'rollout',
      sequence: version,
    });
    if (form === 'current') return { body: current, headers: toCloudEventsApplicationProperties(current) };
    const body = { ...current, source: '/eda/api', sequence: String(version) };
    return { body, headers: { correlationid: 'rollout', causationid: 'rollout' } };
  }

  async function appliedSequences(streamId: string): Promise<number[]> {
    const { rows } = await consumerDb.query(`SELECT sequence FROM inbox WHERE stream_id = $1 ORDER BY applied_at, sequence`, [streamId]);
    return rows.map((row: { sequence: number }) => row.sequence);
  }

  it('applies earlier-form and current-form events of one stream in stream order, by numeric sequence, each event once', async () => {
    const userId = randomUUID();
    const earlier = Array.from({ length: 9 }, (_, i) => userEvent(userId, i + 1, 'earlier'));
    const current = [10, 11].map((version) => userEvent(userId, version, 'current'));
    const parkedBefore = await messageCount(api.topology.deadLetterQueue);

    // "00000000000000000010" < "9" as strings: the current form arrives first and must wait for 1..9.
    for (const { body, headers } of [...current].reverse()) await publish(body, headers);
    for (const { body, headers } of earlier) await publish(body, headers);
    // Version 5 once more, in the current form (a republish by the new relay): the same id, a duplicate.
    const again = userEvent(userId, 5, 'current', earlier[4].body.id);
    await publish(again.body, again.headers);

    await eventually(async () => expect(await appliedSequences(userId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 30_000);
    const { rows } = await consumerDb.query(`SELECT event_id FROM inbox WHERE stream_id = $1 ORDER BY sequence`, [userId]);
    expect(rows.map((row: { event_id: string }) => row.event_id)).toEqual([...earlier, ...current].map(({ body }) => body.id));
    const [position] = (await consumerDb.query(`SELECT last_sequence FROM stream_positions WHERE stream_id = $1`, [userId])).rows;
    expect(position.last_sequence).toBe(11);
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(parkedBefore);
  });

  it('parks a message whose cloudEvents: header disagrees with its body, naming the property, and applies nothing of it', async () => {
    const userId = randomUUID();
    const { body, headers } = userEvent(userId, 1, 'current');
    const parkedBefore = await messageCount(api.topology.deadLetterQueue);
    await publish(body, { ...headers, 'cloudEvents:sequence': '00000000000000000002' });

    await eventually(async () => expect(await messageCount(api.topology.deadLetterQueue)).toBe(parkedBefore + 1));
    const channel = await outside.createChannel();
    try {
      let reason: unknown;
      for (let message = await channel.get(api.topology.deadLetterQueue); message; message = await channel.get(api.topology.deadLetterQueue)) {
        if (message.properties.headers?.['cloudEvents:id'] === body.id) reason = message.properties.headers[LAST_ERROR_HEADER];
      }
      expect(reason).toBe(
        'invalid event: cloudEvents:sequence: the application property says "00000000000000000002" but the body says "00000000000000000001"',
      );
    } finally {
      await channel.close(); // unacked: the parked messages go back to the queue
    }
    expect(await appliedSequences(userId)).toEqual([]);
    // The log line of a message refused as invalid still names its correlation id, read from the cloudEvents: header.
    const parking = apps.consumer.stdout.split('\n').find((line) => line.includes(`parking ${body.id}`));
    expect(JSON.parse(parking ?? '{}')).toMatchObject({ correlationId: 'rollout', causationId: 'rollout', eventId: body.id });
  });
});
