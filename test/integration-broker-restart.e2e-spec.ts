/**
 * @exclusive stops and starts the shared RabbitMQ (rabbitmqctl stop_app)
 */
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { startApiWithConsumer, type ConsumerWithClient } from './support/api-with-consumer';
import { registerUser } from './support/fixtures';
import { burst, countInApi, expectEverythingAppliedOnce, viaTestApp } from './support/integration-bursts';
import { rabbitmqctl } from './support/rabbitmqctl';
import { eventually } from './support/test-app';

// The saga is off: the test counts the events its own commands caused.
const WITHOUT_SAGA = { REACTIONS_ENABLED: 'false' };

describe('integration events while RabbitMQ restarts', () => {
  let pipeline: ConsumerWithClient | undefined;

  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  it('delivers every event when RabbitMQ stops and starts during a burst, and the API never answers 5xx', async () => {
    const { api, consumerDb } = (pipeline = await startApiWithConsumer({ apiEnv: WITHOUT_SAGA }));
    const customers = await Promise.all(Array.from({ length: 5 }, () => registerUser(api)));
    const sending = burst(viaTestApp(api), customers, 400, 4);
    await eventually(async () => expect(await countInApi(api, `SELECT count(*)::int AS n FROM orders`)).toBeGreaterThan(50));
    try {
      await rabbitmqctl(['stop_app']);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    } finally {
      await rabbitmqctl(['start_app']);
    }
    const statuses = await sending;
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect(statuses.every((status) => status === 202)).toBe(true);
    await expectEverythingAppliedOnce(api, consumerDb, customers, 400);
    await eventually(async () => expect(await api.app.get(OutboxRelay).lag()).toBe(0));
  }, 180_000);
});
