import { InFlightDeliveries } from './in-flight-deliveries';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('deliveries in flight', () => {
  it('are settled at once when there are none', async () => {
    await expect(new InFlightDeliveries().settled(0)).resolves.toBe(true);
  });

  it('are settled once every tracked delivery, also one that started while waiting, finished', async () => {
    const inFlight = new InFlightDeliveries();
    const first = deferred();
    const second = deferred();
    void inFlight.track(first.promise);
    const settled = inFlight.settled(10_000);
    void inFlight.track(second.promise);
    first.resolve();
    await Promise.resolve();
    expect(inFlight.size).toBe(1);
    second.resolve();
    await expect(settled).resolves.toBe(true);
    expect(inFlight.size).toBe(0);
  });

  it('are reported unsettled when the timeout passes first, and a failed delivery counts as settled', async () => {
    const inFlight = new InFlightDeliveries();
    const stuck = deferred();
    void inFlight.track(stuck.promise);
    await expect(inFlight.settled(20)).resolves.toBe(false);
    stuck.resolve();
    const failing = Promise.reject(new Error('failed'));
    inFlight.track(failing).catch(() => undefined);
    await expect(inFlight.settled(1_000)).resolves.toBe(true);
  });

  it('signal stopping once stopped', () => {
    const inFlight = new InFlightDeliveries();
    expect(inFlight.stopping.aborted).toBe(false);
    inFlight.stop();
    expect(inFlight.stopping.aborted).toBe(true);
  });
});
