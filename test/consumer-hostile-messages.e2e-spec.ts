import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Client } from 'pg';
import { CLOUD_EVENTS_CONTENT_TYPE, SEQUENCE_PROBLEM, toCloudEventsApplicationProperties, UserEmailChangedV1, UserRegisteredV1, wrapInCloudEvent } from '../src/contracts';
import { LAST_ERROR_HEADER, REORDER_WAITS_HEADER } from '../src/messaging/message-headers';
import { type ConsumerWithClient, startConsumerWithClient } from './support/api-with-consumer';
import type { ConsumerProcess } from './support/consumer-process';
import { uniqueEmail } from './support/fixtures';
import { eventually } from './support/test-app';
import { TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';

// Hostile messages put straight onto the consumer's queue, as a broken or malicious publisher
// could: each is applied once and in order, or parked with a reason that names what is wrong; none
// holds a delivery, crashes the consumer or stops it from applying the next good event.

const RETRY_DELAYS_MS = [100, 200];
const brokerPrefix = uniqueBrokerPrefix();
const topology = testTopology(brokerPrefix, RETRY_DELAYS_MS);
let consumer: ConsumerProcess;
let consumerDb: Client;
let connection: amqp.ChannelModel;
let started: ConsumerWithClient | undefined;

beforeAll(async () => {
  ({ consumer, consumerDb } = started = await startConsumerWithClient(brokerPrefix, { retryDelaysMs: RETRY_DELAYS_MS, consumerMaxAttempts: 3 }));
  connection = await amqp.connect(TEST_RABBITMQ_URL);
}, 60_000);

afterAll(async () => {
  await connection?.close();
  await started?.close();
});

/** Version `version` of user `userId`'s stream in the current form, with its cloudEvents: headers. */
function userEvent(userId: string, version: number, id: string = randomUUID()) {
  const at = new Date().toISOString();
  const [contract, data] =
    version === 1
      ? [UserRegisteredV1, { userId, email: uniqueEmail(), name: 'Hostile', registeredAt: at }]
      : [UserEmailChangedV1, { userId, email: uniqueEmail(), changedAt: at }];
  const body: Record<string, unknown> = { ...wrapInCloudEvent(contract, data, { id, source: '/eda/users', subject: userId, time: at, correlationId: 'hostile', causationId: 'hostile', sequence: version }) };
  return { body, headers: toCloudEventsApplicationProperties(body) as Record<string, unknown> };
}

/** Puts `body` straight onto the consumer's queue (default exchange), confirmed; `messageId` names it in the dead-letter queue. */
async function sendToConsumerQueue(body: unknown, headers: Record<string, unknown>, messageId: string): Promise<void> {
  const channel = await connection.createConfirmChannel();
  try {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    channel.sendToQueue(topology.consumerQueue, content, { persistent: true, messageId, contentType: CLOUD_EVENTS_CONTENT_TYPE, headers });
    await channel.waitForConfirms();
  } finally {
    await channel.close();
  }
}

/** The x-last-error of each parked message, by message id (read without taking them). */
async function parkedReasons(): Promise<Map<string, string>> {
  const channel = await connection.createChannel();
  const reasons = new Map<string, string>();
  try {
    for (let message = await channel.get(topology.deadLetterQueue); message; message = await channel.get(topology.deadLetterQueue)) {
      reasons.set(String(message.properties.messageId), String(message.properties.headers?.[LAST_ERROR_HEADER]));
    }
  } finally {
    await channel.close(); // unacked: they go back to the queue
  }
  return reasons;
}

async function appliedSequences(streamId: string): Promise<number[]> {
  const { rows } = await consumerDb.query(`SELECT sequence FROM inbox WHERE stream_id = $1 ORDER BY applied_at, sequence`, [streamId]);
  return rows.map((row: { sequence: number }) => row.sequence);
}

describe('the consumer under hostile messages', () => {
  it('parks an invalid message whose headers amqplib cannot write again (a nested table with a "!" field), and goes on applying', async () => {
    const userId = randomUUID();
    const { body, headers } = userEvent(userId, 1);
    const id = randomUUID();
    // Encoded as the field table {"!": "nonsense"}; amqplib reads it back as {'!': 'nonsense'},
    // which is its own notation for a typed value, and refuses to encode that unknown type.
    await sendToConsumerQueue({ ...body, sequence: ' 1' }, { ...headers, 'x-note': { '!': 'object', value: { '!': 'nonsense' } } }, id);

    await eventually(async () => expect((await parkedReasons()).get(id)).toContain(`invalid event: ${SEQUENCE_PROBLEM}`), 15_000);
    await sendToConsumerQueue(body, headers, String(body.id));
    await eventually(async () => expect(await appliedSequences(userId)).toEqual([1]));
  }, 30_000);

  it('parks an invalid message with headers near the client\'s 64 KiB limit, which the dead-letter headers would push over it', async () => {
    const { body, headers } = userEvent(randomUUID(), 1);
    const id = randomUUID();
    await sendToConsumerQueue({ ...body, sequence: '01' }, { ...headers, 'x-padding': 'x'.repeat(64_800) }, id);

    await eventually(async () => expect((await parkedReasons()).get(id)).toContain(SEQUENCE_PROBLEM), 15_000);
  }, 30_000);

  it('parks a message with thousands of disagreeing cloudEvents: headers with a reason of bounded length', async () => {
    const { body, headers } = userEvent(randomUUID(), 1);
    const id = randomUUID();
    const many = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`cloudEvents:x${i}`, 'y']));
    await sendToConsumerQueue(body, { ...headers, ...many }, id);

    const reason = await eventually(async () => {
      const parked = (await parkedReasons()).get(id);
      expect(parked).toMatch(/^invalid event: cloudEvents:x0: the application property says "y" but the body says nothing; /);
      return parked!;
    }, 15_000);
    expect(reason.length).toBeLessThanOrEqual(2_000);
  }, 30_000);

  it('applies a too-early event whose reorder count is not a number once its predecessor comes', async () => {
    const userId = randomUUID();
    const first = userEvent(userId, 1);
    const second = userEvent(userId, 2);
    await sendToConsumerQueue(second.body, { ...second.headers, [REORDER_WAITS_HEADER]: 'many' }, String(second.body.id));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await sendToConsumerQueue(first.body, first.headers, String(first.body.id));

    await eventually(async () => expect(await appliedSequences(userId)).toEqual([1, 2]), 15_000);
  }, 30_000);

  it('parks odd-typed or disagreeing cloudEvents: headers and malformed sequences, each with its reason, and applies each good event once in stream order', async () => {
    const userId = randomUUID();
    const [first, second, third] = [1, 2, 3].map((version) => userEvent(userId, version));
    const hostile: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
      ['a buffer', first.body, { ...first.headers, 'cloudEvents:id': Buffer.from(String(first.body.id)) }, 'cloudEvents:id: the application property says 36 bytes'],
      ['a table', first.body, { ...first.headers, 'cloudEvents:subject': { a: [1, true] } }, 'cloudEvents:subject: the application property says {"a":[1,true]}'],
      ['a number', first.body, { ...first.headers, 'cloudEvents:sequence': 1 }, 'cloudEvents:sequence: the application property says 1 but the body says "00000000000000000001"'],
      ['a boolean', first.body, { ...first.headers, 'cloudEvents:specversion': true }, 'cloudEvents:specversion: the application property says true'],
      ['a huge string', first.body, { ...first.headers, 'cloudEvents:source': 'x'.repeat(60_000) }, 'cloudEvents:source: the application property says "xxx'],
      ['no such attribute', first.body, { ...first.headers, 'cloudEvents:traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, 'but the body says nothing'],
      ['past 2^53', { ...first.body, sequence: '00009007199254740993' }, {}, SEQUENCE_PROBLEM],
      ['a leading zero', { ...first.body, sequence: '01' }, {}, SEQUENCE_PROBLEM],
      ['whitespace', { ...first.body, sequence: '1 ' }, {}, SEQUENCE_PROBLEM],
    ].map(([what, body, headers, reason]) => [what as string, { ...(body as object), id: randomUUID() }, headers as Record<string, unknown>, reason as string]);
    for (const [, body, headers] of hostile) await sendToConsumerQueue(body, headers, String(body.id));
    // Good ones, out of order, each twice: the earlier form (unpadded, no headers), the current one, a JSON number.
    await sendToConsumerQueue({ ...third.body, sequence: 3 }, {}, String(third.body.id));
    await sendToConsumerQueue(second.body, second.headers, String(second.body.id));
    await sendToConsumerQueue({ ...second.body, sequence: '2', source: '/eda/api' }, {}, String(second.body.id));
    await sendToConsumerQueue({ ...first.body, sequence: '1', source: '/eda/api' }, {}, String(first.body.id));
    await sendToConsumerQueue(first.body, first.headers, String(first.body.id));
    await sendToConsumerQueue(third.body, third.headers, String(third.body.id));

    await eventually(async () => expect(await appliedSequences(userId)).toEqual([1, 2, 3]), 15_000);
    const reasons = await eventually(async () => {
      const parked = await parkedReasons();
      const found = hostile.map(([what, body, , reason]) => `${what}: ${parked.get(String(body.id))?.includes(reason) ? 'parked with its reason' : parked.get(String(body.id))}`);
      expect(found).toEqual(hostile.map(([what]) => `${what}: parked with its reason`));
      return parked;
    }, 15_000);
    for (const good of [first, second, third]) expect(reasons.has(String(good.body.id))).toBe(false);
    const { rows } = await consumerDb.query(`SELECT event_id FROM inbox WHERE stream_id = $1 ORDER BY sequence`, [userId]);
    expect(rows.map((row: { event_id: string }) => row.event_id)).toEqual([first, second, third].map(({ body }) => body.id));
    expect((await consumer.get('/health')).status).toBe(200);
  }, 40_000);
});
