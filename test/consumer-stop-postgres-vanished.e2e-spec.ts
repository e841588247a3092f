import { randomUUID } from 'node:crypto';
import { UserRegisteredV1 } from '../src/contracts';
import { type ConsumerWithClient, startConsumerWithClient } from './support/api-with-consumer';
import { rabbitmqctl } from './support/rabbitmqctl';
import type { TcpProxy } from './support/tcp-proxy';
import { eventually } from './support/test-app';
import { messageCount, publishRaw, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { testCloudEvent } from './support/test-cloud-events';
import { startDatabaseProxy } from './support/test-database';

/**
 * A stop (SIGTERM) of the consumer while PostgreSQL is silent (its machine gone, the network cut:
 * no FIN, no RST, played by a proxy that black-holes both directions) and deliveries wait on
 * statements that will never be answered, with the production defaults
 * (DATABASE_STATEMENT_REPLY_TIMEOUT_MS 30 s, CONSUMER_DRAIN_TIMEOUT_MS 5 s, SHUTDOWN_TIMEOUT_MS 10 s).
 * The drain waited its whole 5 s for them, then the pool's end its 2 s: most of the deadline.
 * The stop gives up on a PostgreSQL that answered nothing for STOP_DATABASE_WAIT_MS, the
 * deliveries it held are handed back at once, and it exits 0 well before its deadline. Nothing of
 * them is applied: RabbitMQ has them all again, for the next consumer.
 */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const EVENTS = 5;
const prefix = uniqueBrokerPrefix();
const topology = testTopology(prefix);
let proxy: TcpProxy;
let started: ConsumerWithClient | undefined;

beforeAll(async () => {
  proxy = await startDatabaseProxy();
  started = await startConsumerWithClient(prefix, {
    databaseAddress: (databaseUrl) => proxy.rewrite(databaseUrl),
    consumerEnv: { LOG_LEVEL: 'log', DATABASE_STATEMENT_REPLY_TIMEOUT_MS: undefined, CONSUMER_DRAIN_TIMEOUT_MS: undefined, SHUTDOWN_TIMEOUT_MS: undefined },
  });
}, 60_000);

afterAll(async () => {
  proxy?.release();
  await started?.close();
  await proxy?.close();
});

function registered() {
  const userId = randomUUID();
  return testCloudEvent(UserRegisteredV1, { userId, email: `${userId}@example.com`, name: 'R', registeredAt: new Date().toISOString() }, userId, 1);
}

/** Messages of the consumer queue delivered and not acked, as RabbitMQ counts them (its figures lag by up to ~5 s). */
async function unacked(): Promise<number> {
  const { stdout } = await rabbitmqctl(['list_queues', '-q', '--no-table-headers', 'name', 'messages_unacknowledged']);
  const line = stdout.split('\n').find((row) => row.split(/\s+/)[0] === topology.consumerQueue);
  if (!line) throw new Error(`no queue ${topology.consumerQueue} in:\n${stdout}`);
  return Number(line.trim().split(/\s+/)[1]);
}

it('hands the deliveries waiting on a silent PostgreSQL back and exits 0 well before SHUTDOWN_TIMEOUT_MS, none of them applied', async () => {
  const { consumer, consumerDb } = started!;
  const applied = async (ids: string[]) => (await consumerDb.query(`SELECT count(*)::int AS n FROM inbox WHERE event_id = ANY($1)`, [ids])).rows[0].n as number;
  const warmUp = registered();
  await publishRaw(topology, warmUp.type, warmUp);
  await eventually(async () => expect(await applied([warmUp.id])).toBe(1));

  proxy.blackHole();
  const events = Array.from({ length: EVENTS }, registered);
  let status: Awaited<ReturnType<typeof consumer.kill>>;
  let stopMs: number;
  try {
    for (const event of events) await publishRaw(topology, event.type, event);
    // Delivered, and waiting on PostgreSQL.
    await eventually(async () => expect(await unacked()).toBe(EVENTS), 20_000);
    const stopAt = Date.now();
    status = await consumer.kill('SIGTERM');
    stopMs = Date.now() - stopAt;
    process.stderr.write(`stopped while PostgreSQL was silent in ${stopMs} ms, ${JSON.stringify(status)}\n`);
  } finally {
    proxy.release();
  }

  expect(status).toEqual({ code: 0, signal: null });
  expect(stopMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS / 2);
  expect(consumer.output).not.toContain('did not stop within');
  expect(consumer.output).toContain('database pool closed');
  // Back in the queue, none applied (their transactions never committed).
  await eventually(async () => expect(await messageCount(topology.consumerQueue)).toBe(EVENTS));
  expect(await applied(events.map(({ id }) => id))).toBe(0);
}, 60_000);
