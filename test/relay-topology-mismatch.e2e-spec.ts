import amqp from 'amqplib';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { uniqueEmail } from './support/fixtures';
import { eventually } from './support/test-app';
import { deleteTopology, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase } from './support/test-database';

// The consumer refuses to start on a queue declared with other arguments; the API must not: its
// outbox holds the events, so it keeps taking commands while the relay reports the refusal.
describe('the API when the consumer queue exists with other arguments', () => {
  const prefix = uniqueBrokerPrefix();
  const topology = testTopology(prefix);
  let databaseUrl: string;
  let api: ApiProcess | undefined;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    const connection = await amqp.connect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      await channel.assertQueue(topology.consumerQueue, { durable: true, arguments: { 'x-queue-type': 'classic' } });
      await channel.close();
    } finally {
      await connection.close();
    }
  });
  afterAll(async () => {
    api?.signal('SIGKILL');
    await api?.exited;
    await dropDatabase(databaseUrl);
    await deleteTopology(topology).catch(() => undefined);
  });

  it('keeps running and accepting commands while its relay logs the refusal', async () => {
    api = await ApiProcess.start({ DATABASE_URL: databaseUrl, RABBITMQ_URL: TEST_RABBITMQ_URL, BROKER_PREFIX: prefix, REACTIONS_ENABLED: 'false' });
    // The relay has tried to declare the topology (the moment the process used to die of an
    // unhandled 'error' event) ...
    await eventually(async () => expect(api!.output).toMatch(/inequivalent arg '[a-z-]+' for queue/), 20_000);
    // ... and the API still answers: a command is accepted, /health names RabbitMQ as degraded
    // (200: the outbox holds the events; issue 11 point 4), and the API stays ready.
    const { status } = await api.post('/users', { email: uniqueEmail('mismatch'), name: 'Mismatch' });
    expect(status).toBe(201);
    const health = await fetch(`${api.url}/health`);
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; details: { rabbitmq: { status: string } } };
    expect(body.status).toBe('degraded');
    expect(body.details.rabbitmq.status).toBe('degraded');
    expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
    expect(api.output).not.toMatch(/Unhandled 'error' event|Emitted 'error' event/);
    expect(await api.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 60_000);
});
