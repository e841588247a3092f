import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { UserRegisteredV1, wrapInCloudEvent } from '../src/contracts';
import { ConsumerProcess } from './support/consumer-process';
import { exitOnItsOwn } from './support/exit-status';
import { eventually, startTestConsumerApp, type TestConsumerApp } from './support/test-app';
import { deleteTopology, messageCount, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';

function registered() {
  const userId = randomUUID();
  return wrapInCloudEvent(
    UserRegisteredV1,
    { userId, email: 'stop@example.com', name: 'Stop', registeredAt: new Date().toISOString() },
    { id: randomUUID(), source: '/tests', subject: userId, time: new Date().toISOString(), correlationId: 't', causationId: 't', sequence: 1 },
  );
}

/** Publishes every event over one confirm channel, so they all wait in the queue together. */
async function publishAll(exchange: string, events: { type: string }[]): Promise<void> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    for (const event of events) channel.publish(exchange, event.type, Buffer.from(JSON.stringify(event)), { persistent: true });
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

describe('stopping the consumer with deliveries in flight', () => {
  const prefix = uniqueBrokerPrefix();
  const topology = testTopology(prefix);
  let consumer: TestConsumerApp | undefined;

  afterAll(async () => {
    await consumer?.close();
    await deleteTopology(topology).catch(() => undefined);
  });

  it('stops intake, acks what committed and hands back only what it never applied', async () => {
    consumer = await startTestConsumerApp(prefix, {
      CONSUMER_PREFETCH: '10',
      CONSUMER_DRAIN_TIMEOUT_MS: '20000',
      // Batches of 4 out of the 10 deliveries in flight: one applying, the others gathered behind it.
      CONSUMER_BATCH_SIZE: '4',
    });
    const { db } = consumer;
    // Each event takes a while to apply, so closing finds a batch's transaction open and deliveries waiting behind it.
    await db.query(`CREATE FUNCTION slow_notice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.4); RETURN NEW; END $$`);
    await db.query(`CREATE TRIGGER slow_notice BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION slow_notice()`);

    const events = Array.from({ length: 40 }, registered);
    await publishAll(topology.exchange, events);
    await eventually(async () => {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'active' AND query LIKE 'INSERT INTO notifications%'`,
      );
      expect(rows[0].n).toBe(1); // the inbox applies one batch at a time
    });
    await consumer.stopApp();

    const appliedIds = new Set<string>((await db.query(`SELECT event_id FROM inbox`)).rows.map((row) => row.event_id));
    expect(appliedIds.size).toBeGreaterThan(0);
    expect(appliedIds.size).toBeLessThan(events.length);
    await eventually(async () => expect(await messageCount(topology.consumerQueue)).toBe(events.length - appliedIds.size));
    // What is left in the queue is exactly what was never applied: nothing committed went back.
    const connection = await amqp.connect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      const left: string[] = [];
      for (let message = await channel.get(topology.consumerQueue); message; message = await channel.get(topology.consumerQueue)) {
        left.push(JSON.parse(message.content.toString()).id);
      }
      expect(left.filter((id) => appliedIds.has(id))).toEqual([]);
      expect(new Set([...left, ...appliedIds])).toEqual(new Set(events.map((event) => event.id)));
      await channel.close();
    } finally {
      await connection.close();
    }
  }, 60_000);
});

describe('a consumer queue that exists with other arguments', () => {
  const prefix = uniqueBrokerPrefix();
  const topology = testTopology(prefix);
  afterAll(async () => {
    await deleteTopology(topology).catch(() => undefined);
  });

  it('stops the start with one line naming the queue and the argument, and exit code 1', async () => {
    const connection = await amqp.connect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      await channel.assertQueue(topology.consumerQueue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
      await channel.close();
    } finally {
      await connection.close();
    }
    const consumer = await ConsumerProcess.spawn(prefix);
    const { code } = await exitOnItsOwn(consumer, { signal: 'SIGTERM' });
    await consumer.stop();
    const result = { code, output: consumer.output };
    expect(result.code).toBe(1);
    expect(result.output).toMatch(new RegExp(`RabbitMQ queue '${topology.consumerQueue}' exists with a different '[a-z-]+' than this consumer declares`));
    // No stack trace: neither as lines of text nor inside a JSON line (`\n    at …`, an `err.stack`).
    expect(result.output).not.toMatch(/^\s+at /m);
    expect(result.output).not.toMatch(/\\n\s+at /);
    expect(result.output).not.toContain('"stack"');
    expect(result.output).not.toMatch(/Unhandled 'error' event/);
  }, 60_000);
});
