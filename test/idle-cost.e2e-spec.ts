import { Client } from 'pg';
import { ApiProcess } from './support/api-process';
import { deleteTopology, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { testAuthorization } from './support/test-auth';
import { eventually } from './support/test-app';
import { describeWithPostgresServerBinaries, ThrowawayCluster } from './support/throwaway-cluster';

/**
 * An idle API costs the database (almost) nothing: it burns no transaction ids and commits at most
 * one transaction a second. It runs on a cluster of its own, so that nothing else moves the
 * server's transaction id counter or its commit count: other files may run beside it.
 */
const WINDOW_MS = 4000;
/**
 * A backend may keep its statistics up to 10 s before it reports them (PGSTAT_IDLE_INTERVAL):
 * the window starts only once what the start-up and the registration did has been counted.
 */
const STATISTICS_SETTLE_MS = 11_000;

describeWithPostgresServerBinaries('an idle API on a cluster of its own', () => {
  let cluster: ThrowawayCluster;
  let api: ApiProcess | undefined;
  let observer: Client;
  const brokerPrefix = uniqueBrokerPrefix();

  beforeAll(async () => {
    cluster = await ThrowawayCluster.start();
    api = await ApiProcess.start({
      DATABASE_URL: cluster.url('eda'),
      BROKER_PREFIX: brokerPrefix,
      // The order deadline watcher polls every second by default; it is not part of event delivery.
      ORDER_DEADLINE_POLL_MS: '60000',
    });
    // In another database of the cluster: our own reads count there, not in the API's database.
    observer = new Client({ connectionString: cluster.url('postgres') });
    await observer.connect();
  }, 60_000);
  afterAll(async () => {
    await observer?.end().catch(() => undefined);
    await api?.kill('SIGTERM');
    await cluster?.destroy();
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
  });

  /** The next transaction id the cluster would hand out; reading it assigns none. */
  async function nextTransactionId(): Promise<bigint> {
    const { rows } = await observer.query(`SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS next`);
    return BigInt(rows[0].next);
  }

  /** Committed transactions of the API's database, as the statistics report them now. */
  async function committedTransactions(): Promise<number> {
    await observer.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await observer.query(`SELECT xact_commit::int AS n FROM pg_stat_database WHERE datname = 'eda'`);
    return rows[0].n;
  }

  it('burns no transaction ids and commits at most one transaction a second while idle', async () => {
    const started = api!;
    const { body } = await started.post('/users', { email: 'idle@example.com', name: 'Idle' });
    await eventually(async () => expect((await fetch(`${started.url}/users/${body.id}`, { headers: await testAuthorization() })).status).toBe(200));
    await new Promise((resolve) => setTimeout(resolve, STATISTICS_SETTLE_MS));

    const xidBefore = await nextTransactionId();
    const commitsBefore = await committedTransactions();
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const xidAfter = await nextTransactionId();
    const commitsAfter = await committedTransactions();

    expect(xidAfter - xidBefore).toBe(0n);
    expect(commitsAfter - commitsBefore).toBeLessThanOrEqual(WINDOW_MS / 1000);
  }, 60_000);
});
