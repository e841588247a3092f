import { randomUUID } from 'node:crypto';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { testAuthorization } from './support/test-auth';
import { deleteTopology, startBrokerProxy, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase } from './support/test-database';
import { TcpProxy } from './support/tcp-proxy';

/**
 * A command with an `Idempotency-Key` runs inside the key's transaction (IdempotencyInterceptor).
 * Some commands wait on something other than that transaction while it stays open: republishing a
 * stream waits for RabbitMQ's confirms. A working process must not lose that transaction to
 * `idle_in_transaction_session_timeout` (DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS), which is there
 * for processes that stopped working: the command's answer would be a 500 after its effect
 * happened, and the key left unrecorded, so that a retry repeats the effect.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 1000;
/** Each broker answer arrives this much later: a slow broker, well within RELAY_PUBLISH_TIMEOUT_MS. */
const BROKER_LATENCY_MS = 2 * IDLE_IN_TRANSACTION_TIMEOUT_MS;

describe('a command with an Idempotency-Key that waits longer than the idle-in-transaction timeout', () => {
  const brokerPrefix = uniqueBrokerPrefix();
  let databaseUrl: string;
  let proxy: TcpProxy;
  let api: ApiProcess | undefined;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    proxy = await startBrokerProxy();
  });
  afterAll(async () => {
    await api?.kill('SIGKILL');
    await proxy.close();
    // The proxy's late chunks (its timers) run out.
    await new Promise((resolve) => setTimeout(resolve, BROKER_LATENCY_MS));
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
    await dropDatabase(databaseUrl).catch(() => undefined);
  });

  async function republish(streamId: string, key?: string): Promise<{ status: number; replayed: string | null; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const response = await fetch(`${api!.url}/admin/streams/${streamId}/republish`, {
      method: 'POST',
      headers: { ...(await testAuthorization()), ...(key && { 'idempotency-key': key }) },
    });
    return { status: response.status, replayed: response.headers.get('idempotent-replayed'), body: await response.json() };
  }

  it('answers 200 and records the key, as with a fast broker', async () => {
    api = await ApiProcess.start({
      DATABASE_URL: databaseUrl,
      BROKER_PREFIX: brokerPrefix,
      RABBITMQ_URL: proxy.rewrite(TEST_RABBITMQ_URL),
      REACTIONS_ENABLED: 'false',
      RELAY_ENABLED: 'false',
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(IDLE_IN_TRANSACTION_TIMEOUT_MS),
    });
    const user = await api.post('/users', { email: `slow-${brokerPrefix}@example.com`, name: 'Slow' });
    expect(user.status).toBe(201);
    // The publishing connection and channel are open before the broker slows down.
    expect((await republish(user.body.id)).status).toBe(200);

    proxy.latency(BROKER_LATENCY_MS);
    const key = randomUUID();
    const first = await republish(user.body.id, key);
    proxy.latency(0);
    expect(first).toMatchObject({ status: 200, body: { published: 1 } });
    const again = await republish(user.body.id, key);
    expect(again).toMatchObject({ status: 200, replayed: 'true', body: { published: 1 } });
  }, 60_000);
});
