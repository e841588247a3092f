/**
 * Integration events under failures of the consumer and the API processes. RabbitMQ's own
 * restart is in integration-broker-restart.e2e-spec.ts, which runs alone.
 */
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { ApiProcess } from './support/api-process';
import { type ConsumerWithClient, startApiWithConsumer, startConsumerWithClient } from './support/api-with-consumer';
import { ConsumerProcess } from './support/consumer-process';
import { registerUser } from './support/fixtures';
import { appliedOutOfSequence, burst, count, expectEverythingAppliedOnce, viaTestApp } from './support/integration-bursts';
import { eventually, startTestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';
import { uniqueBrokerPrefix } from './support/test-broker';

// The saga is off: these tests count the events their own commands caused.
const WITHOUT_SAGA = { REACTIONS_ENABLED: 'false' };

describe('integration events under failures', () => {
  /** The test's consumer with its client (and its API, when started with it); more consumers on its queue and database. */
  let pipeline: ConsumerWithClient | undefined;
  let moreConsumers: ConsumerProcess[] = [];

  afterEach(async () => {
    // They share the pipeline consumer's database, which its close drops once its client ended.
    for (const consumer of moreConsumers.reverse()) await consumer.kill().catch(() => undefined);
    await pipeline?.close();
    pipeline = undefined;
    moreConsumers = [];
  });

  async function startPipeline(options: { apiDatabaseUrl?: string; brokerPrefix?: string } = {}) {
    const started = await startApiWithConsumer({ ...options, apiEnv: WITHOUT_SAGA });
    pipeline = started;
    return started;
  }

  it('loses nothing and applies nothing twice when the consumer is SIGKILLed mid-burst and restarted', async () => {
    const { api, consumer, consumerDb } = await startPipeline();
    const customers = await Promise.all(Array.from({ length: 5 }, () => registerUser(api)));
    const sending = burst(viaTestApp(api), customers, 600);
    await eventually(async () => expect(await count(consumerDb, `SELECT count(*)::int AS n FROM inbox`)).toBeGreaterThan(150), 30_000);
    await consumer.kill('SIGKILL');
    const statuses = await sending;
    expect(statuses.every((status) => status === 202)).toBe(true);
    await consumer.restart();
    await expectEverythingAppliedOnce(api, consumerDb, customers, 600);
  }, 120_000);

  it('relays after a restart what an API process had committed but not published when it was SIGKILLed', async () => {
    const databaseUrl = await createTestDatabase();
    const brokerPrefix = uniqueBrokerPrefix();
    // The broker is unreachable for this process: its commands commit, nothing can be published.
    const doomed = await ApiProcess.start({ DATABASE_URL: databaseUrl, BROKER_PREFIX: brokerPrefix, RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1', ...WITHOUT_SAGA });
    const customer = (await doomed.post('/users', { email: 'doomed@example.com', name: 'Doomed' })).body.id;
    for (let i = 0; i < 20; i++) {
      expect((await doomed.post('/orders', { customerId: customer, currency: 'EUR', lines: [{ sku: 'K', quantity: 1, unitPrice: 100 }] })).status).toBe(202);
    }
    await doomed.kill('SIGKILL');

    const { api, consumerDb } = await startPipeline({ apiDatabaseUrl: databaseUrl, brokerPrefix });
    await expectEverythingAppliedOnce(api, consumerDb, [customer], 20);
  }, 120_000);

  it('lets exactly one of several API processes relay, and another take over when it stops', async () => {
    const first = await startTestApp({ env: WITHOUT_SAGA });
    const second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env: WITHOUT_SAGA });
    const { consumerDb } = (pipeline = await startConsumerWithClient(first.brokerPrefix));
    try {
      const relays = [first, second].map((app) => app.app.get(OutboxRelay));
      await eventually(async () => expect(relays.filter((relay) => relay.isLeader)).toHaveLength(1));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(relays.filter((relay) => relay.isLeader)).toHaveLength(1);

      const [leader, survivor] = relays[0].isLeader ? [first, second] : [second, first];
      await leader.app.close(); // its lock goes with its database session
      const survivingRelay = survivor.app.get(OutboxRelay);
      await eventually(async () => expect(survivingRelay.isLeader).toBe(true), 10_000);

      const customer = await registerUser(survivor);
      await burst(viaTestApp(survivor), [customer], 30, 4);
      await eventually(async () => expect(await survivingRelay.lag()).toBe(0), 20_000);
      await eventually(async () => expect(await count(consumerDb, `SELECT count(*)::int AS n FROM inbox`)).toBe(31), 20_000);
    } finally {
      await first.app.close().catch(() => undefined);
      await second.close().catch(() => undefined);
    }
  }, 120_000);

  it("applies each aggregate's events in order with two consumer processes on the same queue", async () => {
    const { api, consumer, consumerDb } = await startPipeline();
    moreConsumers.push(await ConsumerProcess.startAnother(consumer));
    const customers = await Promise.all(Array.from({ length: 5 }, () => registerUser(api)));
    const orderIds: string[] = [];
    await burst(
      async (body) => {
        const response = await api.http().post('/orders').send(body);
        orderIds.push(response.body.id);
        await api.http().post(`/orders/${response.body.id}/cancel`).send({ reason: 'race' }).expect(202);
        return response.status;
      },
      customers,
      200,
      8,
    );
    await expectEverythingAppliedOnce(api, consumerDb, customers, 200);
    // Per aggregate, the order of application (inbox insertion) is the sequence order.
    expect(await appliedOutOfSequence(consumerDb)).toBe(0);
    const { rows: cancelled } = await consumerDb.query(
      `SELECT sum(orders_cancelled)::int AS n FROM customer_stats WHERE customer_id = ANY($1)`,
      [customers],
    );
    expect(cancelled[0].n).toBe(200);
  }, 120_000);
});
