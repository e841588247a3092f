import { randomBytes } from 'node:crypto';
import amqp from 'amqplib';
import { brokerTopology, type BrokerTopology } from '../../src/messaging/broker-topology';
import { TcpProxy } from './tcp-proxy';

export const TEST_RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * A broker prefix no other test file or run uses, so exchanges and queues never collide:
 * `<the file's prefix>-<6 hex>`, the file's prefix `test-<run>-<file name>_<4 hex>` (set by the
 * e2e environment, shared-services-environment.js), so that whatever the run's end finds left on
 * the broker names its file (global-teardown.js); `test-<run or adhoc>` outside that environment.
 */
export function uniqueBrokerPrefix(): string {
  const filePrefix = process.env.EDA_TEST_BROKER_PREFIX ?? `test-${process.env.EDA_TEST_RUN ?? 'adhoc'}`;
  return `${filePrefix}-${randomBytes(3).toString('hex')}`.toLowerCase();
}

/**
 * Hands the queues and exchanges named by `prefix` (`<prefix>.…`) to the end of the run: the e2e
 * environment records the prefix when the file ends, and the global teardown deletes them with the
 * rest of the run's objects and does not count them as leaks (global-teardown.js). For a
 * topology that outlives what declared it on purpose, so that another app or process can go on
 * where it stopped: a TestApp closed with `keepDatabase`, a built process (ApiProcess,
 * ConsumerProcess). Everything else a file declares it deletes itself, or the run fails naming it.
 */
export function deleteAtFileEnd(prefix: string): void {
  (globalThis as { brokerPrefixesDeletedAtFileEnd?: Set<string> }).brokerPrefixesDeletedAtFileEnd?.add(prefix);
}

export function testTopology(prefix: string, retryDelaysMs = [1000, 5000, 30000]): BrokerTopology {
  return brokerTopology(prefix, retryDelaysMs);
}

/** Removes every queue and the exchange of `topology` (what a test declared). */
export async function deleteTopology(topology: BrokerTopology): Promise<void> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of [topology.consumerQueue, topology.deadLetterQueue, topology.reorderQueue.name, ...topology.retryQueues.map((q) => q.name)]) {
      await channel.deleteQueue(queue);
    }
    await channel.deleteExchange(topology.exchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Publishes a raw body to the exchange, confirmed, as another service (or an attacker) might. */
export async function publishRaw(topology: BrokerTopology, routingKey: string, body: Buffer | object, times = 1): Promise<void> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    for (let i = 0; i < times; i++) {
      channel.publish(topology.exchange, routingKey, content, { persistent: true, contentType: 'application/cloudevents+json' });
    }
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Runs `use` on a channel of a connection of its own, as an operator's tool would, and closes both. */
export async function withBrokerChannel<T>(use: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    const result = await use(channel);
    await channel.close();
    return result;
  } finally {
    await connection.close();
  }
}

export function messageCount(queue: string): Promise<number> {
  return withBrokerChannel(async (channel) => (await channel.checkQueue(queue)).messageCount);
}

/** A TcpProxy in front of the test broker (TEST_RABBITMQ_URL): connect through `proxy.rewrite(TEST_RABBITMQ_URL)`. */
export function startBrokerProxy(): Promise<TcpProxy> {
  const url = new URL(TEST_RABBITMQ_URL);
  return TcpProxy.start({ host: url.hostname, port: Number(url.port || 5672) });
}
