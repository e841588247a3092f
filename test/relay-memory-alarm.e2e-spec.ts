/**
 * @exclusive sets the shared RabbitMQ's memory alarm, which blocks every publisher
 */
import { IntegrationEventPublisher } from '../src/messaging/integration-event-publisher';
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { countRows, registerUser } from './support/fixtures';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { messageCount } from './support/test-broker';
import { rabbitmqctl } from './support/rabbitmqctl';

// Changes the broker for everyone: hence @exclusive above.
const WINDOW = 50;

/**
 * The arguments of `rabbitmqctl set_vm_memory_high_watermark` that restore the broker's current
 * setting: a fraction of the memory (`0.4`) or an absolute number of bytes.
 */
async function currentWatermark(): Promise<string[]> {
  const { stdout } = await rabbitmqctl(['eval', 'vm_memory_monitor:get_vm_memory_high_watermark().']);
  const absolute = /\{absolute,\s*"?(\d+)"?\}/.exec(stdout);
  if (absolute) return ['absolute', absolute[1]];
  const fraction = stdout.trim();
  if (!/^\d+(\.\d+)?$/.test(fraction)) throw new Error(`unexpected memory watermark: ${stdout}`);
  return [fraction];
}

describe('the relay while RabbitMQ blocks publishers (memory alarm)', () => {
  let api: TestApp | undefined;

  afterAll(async () => {
    await api?.close();
  });

  it('keeps accepting commands, keeps at most one window in flight, re-sends nothing, and drains once the alarm clears', async () => {
    // The timeout must outlast the broker's connection.blocked notice, which arrives only after the
    // first publish under the alarm: 300 ms was once too short on a loaded machine (50 re-sent).
    api = await startTestApp({ env: { REACTIONS_ENABLED: 'false', RELAY_PUBLISH_TIMEOUT_MS: '1000', RELAY_MAX_IN_FLIGHT: String(WINDOW) } });
    const relay = api.app.get(OutboxRelay);
    const publisher = api.app.get(IntegrationEventPublisher);
    await registerUser(api);
    await eventually(async () => expect(await relay.lag()).toBe(0), 20_000);

    let statuses: number[] = [];
    const watermark = await currentWatermark();
    try {
      await rabbitmqctl(['set_vm_memory_high_watermark', '0']);
      statuses = await registerConcurrently(api, 200, 8);
      await eventually(async () => expect(publisher.blocked).toBe(true));
      // Several publish timeouts go by: a blocked connection is not a broken one.
      await new Promise((resolve) => setTimeout(resolve, 3500));
      expect(await relay.lag()).toBeGreaterThan(0);
      expect(relay.inFlight).toBeGreaterThan(0);
    } finally {
      await rabbitmqctl(['set_vm_memory_high_watermark', ...watermark]);
    }

    expect(statuses.filter((status) => status !== 201)).toEqual([]);
    await eventually(async () => expect(await relay.lag()).toBe(0), 30_000);
    const stored = await countRows(api, 'events');
    expect(stored).toBe(201);
    expect(relay.inFlightHighWaterMark).toBeLessThanOrEqual(WINDOW);
    expect(publisher.sentCount).toBe(stored); // each event written to the broker once
    expect(await messageCount(api.topology.consumerQueue)).toBe(stored);
  }, 90_000);
});

async function registerConcurrently(api: TestApp, count: number, concurrency: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const response = await api.http().post('/users').send({ email: `alarm-${next}-${Math.random()}@example.com`, name: 'Alarm' });
        statuses.push(response.status);
      }
    }),
  );
  return statuses;
}
