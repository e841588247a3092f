import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';
import { registerUser } from './support/fixtures';
import { eventually } from './support/test-app';
import { messageCount, withBrokerChannel } from './support/test-broker';

describe('the relay when the consumer queue is missing', () => {
  let apps: ApiWithConsumer | undefined;

  afterAll(() => apps?.close());

  it('does not confirm past unroutable events: every welcome notice arrives once the queue exists again', async () => {
    const { api, consumer, consumerDb } = (apps = await startApiWithConsumer({ apiEnv: { REACTIONS_ENABLED: 'false' } }));
    const relay = api.app.get(OutboxRelay);
    await registerUser(api); // the pipeline works before the queue goes
    await eventually(async () => expect((await consumerDb.query(`SELECT count(*)::int AS n FROM inbox`)).rows[0].n).toBe(1), 20_000);

    await withBrokerChannel((channel) => channel.deleteQueue(api.topology.consumerQueue)); // an operator re-creating it, a lost binding...
    const users = await Promise.all(Array.from({ length: 5 }, () => registerUser(api)));

    // The relay declares the topology again after the returns, so the events are routed to the
    // re-created queue even while the consumer is away, and only then does the lag reach 0.
    await eventually(async () => expect(await relay.lag()).toBe(0), 20_000);
    // The consumer was not restarted: it saw the broker cancel its consumer and consumes again.

    await eventually(async () => {
      const { rows } = await consumerDb.query(
        `SELECT count(*)::int AS n FROM notifications WHERE kind = 'WELCOME' AND customer_id = ANY($1::uuid[])`,
        [users],
      );
      expect(rows[0].n).toBe(5);
    }, 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\nconsumer output:\n${consumer.output}`);
    });
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(0);
  }, 90_000);
});
