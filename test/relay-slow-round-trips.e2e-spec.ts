/**
 * @exclusive a 200 ms confirm budget through a proxy adding 40 ms per round trip: a busy neighbour would eat it
 */
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { uniqueEmail } from './support/fixtures';
import { TcpProxy } from './support/tcp-proxy';
import { eventually } from './support/test-app';
import { deleteTopology, startBrokerProxy, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase } from './support/test-database';

const ROUND_TRIP_MS = 40;

// RELAY_PUBLISH_TIMEOUT_MS bounds a confirm; it used to bound the whole topology declaration
// too (about 20 round trips), so a broker a few ms away was never connected with a small value.
describe('the relay in front of a broker that answers every request, slowly', () => {
  const prefix = uniqueBrokerPrefix();
  let databaseUrl: string;
  let proxy: TcpProxy;
  let api: ApiProcess | undefined;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    proxy = await startBrokerProxy();
    proxy.latency(ROUND_TRIP_MS);
  });
  afterAll(async () => {
    await api?.kill('SIGTERM');
    await proxy.close();
    await deleteTopology(testTopology(prefix)).catch(() => undefined);
    await dropDatabase(databaseUrl);
  });

  it('connects and relays when each round trip is within RELAY_PUBLISH_TIMEOUT_MS, though the declarations together are not', async () => {
    api = await ApiProcess.start({
      DATABASE_URL: databaseUrl,
      BROKER_PREFIX: prefix,
      RABBITMQ_URL: proxy.rewrite(TEST_RABBITMQ_URL),
      REACTIONS_ENABLED: 'false',
      RELAY_PUBLISH_TIMEOUT_MS: String(5 * ROUND_TRIP_MS),
    });
    expect((await api.post('/users', { email: uniqueEmail('slow'), name: 'Slow' })).status).toBe(201);
    await eventually(async () => {
      const health = (await (await fetch(`${api!.url}/health`)).json()) as { details: { rabbitmq: { status: string }; relay: { lag: number } } };
      expect(health.details.rabbitmq.status).toBe('up');
      expect(health.details.relay.lag).toBe(0);
    }, 20_000);
  }, 60_000);
});
