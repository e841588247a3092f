import { doublingBackoff, PollingWorker } from './polling-worker';

function recordingWorker(step: () => Promise<number | void>, options: { intervalMs: number; backoff?: (failures: number) => number }) {
  const failures: Array<{ message: string; failures: number; delayMs: number }> = [];
  const worker = new PollingWorker(step, {
    ...options,
    onFailure: (error, count, delayMs) => void failures.push({ message: (error as Error).message, failures: count, delayMs }),
  });
  return { worker, failures };
}

/**
 * Moves jest's fake clock by `ms`, running the timers and promise callbacks due meanwhile: the
 * intervals here are tens of milliseconds, which a real clock on a loaded machine overshoots.
 */
const elapse = (ms: number) => jest.advanceTimersByTimeAsync(ms);

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('a polling worker', () => {
  it('runs its step, then again after the interval', async () => {
    let runs = 0;
    const { worker } = recordingWorker(async () => void (runs += 1), { intervalMs: 40 });
    worker.start();
    await elapse(10);
    expect(runs).toBe(1);
    await elapse(50);
    expect(runs).toBe(2);
    await worker.stop();
  });

  it('pauses as long as a step asks, and not at all when it asks for 0 ms', async () => {
    const pauses = [0, 0, 10_000];
    let runs = 0;
    const { worker } = recordingWorker(async () => pauses[runs++], { intervalMs: 10_000 });
    worker.start();
    await elapse(20);
    expect(runs).toBe(3);
    await worker.stop();
  });

  it('waits for the first delay before the first step, unless woken', async () => {
    let runs = 0;
    const { worker } = recordingWorker(async () => void (runs += 1), { intervalMs: 10_000 });
    worker.start(10_000);
    await elapse(20);
    expect(runs).toBe(0);
    worker.wake();
    await elapse(5);
    expect(runs).toBe(1);
    await worker.stop();
  });

  it('backs off after failures as its policy says, reports each, and starts over after a success', async () => {
    const outcomes = [new Error('a'), new Error('b'), undefined, new Error('c')];
    let runs = 0;
    const { worker, failures } = recordingWorker(
      async () => {
        const outcome = outcomes[runs++];
        if (outcome) throw outcome;
      },
      { intervalMs: 1, backoff: doublingBackoff(1, 8) },
    );
    worker.start();
    await elapse(60);
    await worker.stop();
    expect(failures).toEqual([
      { message: 'a', failures: 1, delayMs: 2 },
      { message: 'b', failures: 2, delayMs: 4 },
      { message: 'c', failures: 1, delayMs: 2 },
    ]);
  });

  it('without a back-off, retries a failed step after the interval', async () => {
    let runs = 0;
    const { worker, failures } = recordingWorker(
      async () => {
        runs += 1;
        throw new Error('down');
      },
      { intervalMs: 10_000 },
    );
    worker.start();
    await elapse(10);
    expect({ runs, failures }).toEqual({ runs: 1, failures: [{ message: 'down', failures: 1, delayMs: 10_000 }] });
    await worker.stop();
  });

  it('is woken out of a pause, and a wake-up during a step skips the pause after it', async () => {
    let runs = 0;
    let release!: () => void;
    const { worker } = recordingWorker(
      async () => {
        runs += 1;
        if (runs === 2) await new Promise<void>((resolve) => (release = resolve));
      },
      { intervalMs: 10_000 },
    );
    worker.start();
    await elapse(5);
    expect(runs).toBe(1);
    worker.wake(); // cuts the pause: step 2 starts and blocks
    await elapse(5);
    expect(runs).toBe(2);
    worker.wake(); // during step 2: remembered
    release();
    await elapse(5);
    expect(runs).toBe(3);
    await worker.stop();
  });

  it('stops at once from a pause, and after the step in progress ended, without reporting its failure', async () => {
    let runs = 0;
    let release!: () => void;
    const { worker, failures } = recordingWorker(
      async () => {
        runs += 1;
        await new Promise<void>((resolve) => (release = resolve));
        throw new Error('cut off by the stop');
      },
      { intervalMs: 10_000 },
    );
    worker.start();
    await elapse(5);
    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await elapse(5);
    expect({ stopped, isStopping: worker.isStopping }).toEqual({ stopped: false, isStopping: true });
    release();
    await stopping;
    expect({ runs, failures }).toEqual({ runs: 1, failures: [] });

    const idle = recordingWorker(async () => undefined, { intervalMs: 10_000 }).worker;
    idle.start();
    await elapse(5);
    const startedAt = performance.now();
    await idle.stop();
    expect(performance.now() - startedAt).toBeLessThan(50);
  });

  it('runs the next step at once, without counting the failure, when its report dealt with it', async () => {
    const outcomes = [new Error('isolate'), new Error('a'), new Error('isolate'), new Error('b')];
    let runs = 0;
    const reported: Array<[string, number]> = [];
    const worker = new PollingWorker(
      async () => {
        const outcome = outcomes[runs++];
        if (outcome) throw outcome;
        return 10_000;
      },
      {
        intervalMs: 10_000,
        backoff: doublingBackoff(1, 8),
        onFailure: (error, failures) => {
          reported.push([(error as Error).message, failures]);
          return (error as Error).message === 'isolate' ? 'at-once' : undefined;
        },
      },
    );
    worker.start();
    await elapse(30);
    await worker.stop();
    expect(reported).toEqual([
      ['isolate', 1],
      ['a', 1],
      ['isolate', 2],
      ['b', 2],
    ]);
  });

  it('leaves a wake-up during a step that no pause follows for the next pause', async () => {
    let runs = 0;
    let release!: () => void;
    const { worker } = recordingWorker(
      async () => {
        runs += 1;
        if (runs === 1) {
          await new Promise<void>((resolve) => (release = resolve));
          return 0;
        }
        return undefined;
      },
      { intervalMs: 10_000 },
    );
    worker.start();
    await elapse(5);
    worker.wake();
    release();
    await elapse(5);
    expect(runs).toBe(3); // step 2 ran at once, and the pause after it was skipped
    await worker.stop();
  });

  it('keeps running when reporting a failure fails', async () => {
    let runs = 0;
    const worker = new PollingWorker(
      async () => {
        runs += 1;
        throw new Error('down');
      },
      {
        intervalMs: 1,
        onFailure: () => {
          throw new Error('logger broken');
        },
      },
    );
    worker.start();
    await elapse(20);
    await worker.stop();
    expect(runs).toBeGreaterThan(1);
  });
});

describe('a polling worker started again while it stops', () => {
  it('runs again when start() comes while stop() still waits for the step in progress', async () => {
    let runs = 0;
    let release!: () => void;
    const { worker } = recordingWorker(
      async () => {
        runs += 1;
        if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
      },
      { intervalMs: 5 },
    );
    worker.start();
    await elapse(5);
    const stopped = worker.stop();
    worker.start();
    release();
    await stopped;
    await elapse(50);
    expect(runs).toBeGreaterThan(1);
    expect(worker.isStopping).toBe(false);
    await worker.stop();
  });
});
