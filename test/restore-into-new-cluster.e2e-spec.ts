import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { IntegrationEventPublisher } from '../src/messaging/integration-event-publisher';
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { placeOrder, registerUser } from './support/fixtures';
import { messageCount } from './support/test-broker';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { copyDatabase, describeWithPostgresServerBinaries, ThrowawayCluster } from './support/throwaway-cluster';

/**
 * Nothing stored depends on the cluster's transaction ids: the API's database, dumped and
 * restored into a fresh cluster (whose transaction ids start over, far below the shared server's),
 * resumes delivery where it stopped and delivers nothing twice.
 */
describeWithPostgresServerBinaries('a dump restored into a new cluster', () => {
  let cluster: ThrowawayCluster;
  let first: TestApp | undefined;
  let firstRunning = false;
  let restored: TestApp | undefined;

  beforeAll(async () => {
    cluster = await ThrowawayCluster.start();
  }, 30_000);
  afterAll(async () => {
    await restored?.close();
    if (firstRunning) await first?.close().catch(() => undefined);
    await cluster?.destroy();
  });

  /**
   * Every order is in the order_summaries projection (GET /orders/{id} reads the write model, which
   * would not tell) and every committed event is confirmed by the broker.
   */
  async function delivered(app: TestApp, orderIds: string[]): Promise<void> {
    await eventually(async () => {
      const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM order_summaries WHERE id = ANY($1::uuid[])`, [orderIds]);
      expect(n).toBe(orderIds.length);
      expect(await app.app.get(OutboxRelay).lag()).toBe(0);
    }, 15_000);
  }

  it('resumes delivery after a dump restored into a fresh cluster, replaying nothing', async () => {
    first = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    firstRunning = true;
    const customerId = await registerUser(first);
    const before = [await placeOrder(first, customerId), await placeOrder(first, customerId), await placeOrder(first, customerId)];
    await delivered(first, before);
    // Nobody consumes the queue: it holds exactly what the relay published (the customer's registration, the orders).
    expect(await messageCount(first.topology.consumerQueue)).toBe(1 + before.length);
    await first.close({ keepDatabase: true });
    firstRunning = false;

    const restoredUrl = cluster.url('eda');
    const admin = new Client({ connectionString: cluster.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE eda');
    await admin.end();
    await copyDatabase(first.databaseUrl, restoredUrl);
    await dropDatabase(first.databaseUrl);

    const projected = jest.spyOn(orderSummariesProjection, 'apply');
    const published = jest.spyOn(IntegrationEventPublisher.prototype, 'publish');
    try {
      restored = await startTestApp({ databaseUrl: restoredUrl, brokerPrefix: first.brokerPrefix, env: { REACTIONS_ENABLED: 'false' } });
      const after = [await placeOrder(restored, customerId), await placeOrder(restored, customerId)];
      await delivered(restored, [...before, ...after]);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a replay would show by now

      const projectedStreams = projected.mock.calls.flatMap(([events]) => events.map((event) => event.streamId));
      const publishedSubjects = published.mock.calls.map(([envelope]) => envelope.subject);
      expect(projectedStreams.sort()).toEqual([...after].sort());
      expect(publishedSubjects.sort()).toEqual([...after].sort());
      expect(await messageCount(first.topology.consumerQueue)).toBe(1 + before.length + after.length);
    } finally {
      projected.mockRestore();
      published.mockRestore();
    }
  }, 90_000);
});
