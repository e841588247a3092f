import type { IntegrationEnvelope } from '../../contracts';
import { publishInOrder } from './publish-in-order';

const message = (id: string) => ({ id, type: 't' }) as unknown as IntegrationEnvelope;

/** A publish whose confirms the test settles by hand, recording what was sent and how much was in flight. */
function manualBroker() {
  const waiting = new Map<string, { resolve(): void; reject(error: Error): void }>();
  const sent: string[] = [];
  let inFlight = 0;
  let peak = 0;
  return {
    sent,
    get peak() {
      return peak;
    },
    publish(item: IntegrationEnvelope) {
      sent.push(item.id);
      return new Promise<void>((resolve, reject) => waiting.set(item.id, { resolve, reject }));
    },
    onInFlightChange(delta: 1 | -1) {
      inFlight += delta;
      peak = Math.max(peak, inFlight);
    },
    confirm(id: string) {
      waiting.get(id)!.resolve();
    },
    fail(id: string) {
      waiting.get(id)!.reject(new Error(`lost ${id}`));
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('publishInOrder', () => {
  it('never has more than maxInFlight unconfirmed and settles the whole batch when all are confirmed', async () => {
    const broker = manualBroker();
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const publishing = publishInOrder(ids.map(message), { ...broker, publish: broker.publish, maxInFlight: 2 });
    for (const id of ids) {
      await tick();
      broker.confirm(id);
    }
    const result = await publishing;
    expect(result).toEqual({ settledPrefix: 5, confirmed: [true, true, true, true, true], failure: undefined });
    expect(broker.peak).toBe(2);
    expect(broker.sent).toEqual(ids);
  });

  it('stops sending at a failure and reports the confirmed prefix and what was confirmed beyond it', async () => {
    const broker = manualBroker();
    const publishing = publishInOrder(['a', 'b', 'c', 'd', 'e'].map(message), { ...broker, publish: broker.publish, maxInFlight: 3 });
    await tick();
    broker.confirm('a');
    await tick(); // 'a' freed a slot: 'd' goes out
    broker.fail('b');
    broker.confirm('c');
    broker.confirm('d');
    const result = await publishing;
    expect(result.settledPrefix).toBe(1);
    expect(result.confirmed).toEqual([true, false, true, true, false]);
    expect(result.failure?.message).toBe('lost b');
    expect(broker.sent).toEqual(['a', 'b', 'c', 'd']);
  });

  it('counts items with nothing to publish as settled without sending them', async () => {
    const broker = manualBroker();
    const publishing = publishInOrder([undefined, message('b'), undefined], { ...broker, publish: broker.publish, maxInFlight: 1 });
    await tick();
    broker.confirm('b');
    expect((await publishing).settledPrefix).toBe(3);
    expect(broker.sent).toEqual(['b']);
  });
});
