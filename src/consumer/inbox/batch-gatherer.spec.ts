import { BatchGatherer } from './batch-gatherer';

function recorder(applyMs = 0) {
  const batches: number[][] = [];
  const apply = async (batch: number[]) => {
    batches.push(batch);
    if (applyMs > 0) await new Promise((resolve) => setTimeout(resolve, applyMs));
  };
  return { batches, apply };
}

/** Moves jest's fake clock by `ms`: a real one on a loaded machine overshoots the gather times. */
const elapse = (ms: number) => jest.advanceTimersByTimeAsync(ms);

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('gathering items into batches', () => {
  it('hands over what came within the gather time as one batch', async () => {
    const { batches, apply } = recorder();
    const gatherer = new BatchGatherer({ gatherMs: 200, maxItems: 10 }, apply);
    gatherer.add(1);
    gatherer.add(2);
    await elapse(5);
    gatherer.add(3);
    expect(batches).toEqual([]);
    await elapse(300);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('hands over a full batch at once, without waiting for the gather time', async () => {
    const { batches, apply } = recorder();
    const gatherer = new BatchGatherer({ gatherMs: 60_000, maxItems: 2 }, apply);
    [1, 2, 3, 4].forEach((item) => gatherer.add(item));
    expect(batches).toEqual([[1, 2]]);
    await elapse(0);
    expect(batches).toEqual([[1, 2], [3, 4]]);
  });

  it('applies one batch at a time, gathering what comes meanwhile into the next', async () => {
    const { batches, apply } = recorder(200);
    const gatherer = new BatchGatherer({ gatherMs: 0, maxItems: 10 }, apply);
    gatherer.add(1);
    gatherer.add(2);
    gatherer.add(3);
    expect(batches).toEqual([[1]]);
    await elapse(10);
    gatherer.add(4);
    expect(batches).toEqual([[1]]);
    await elapse(300);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('goes on after a batch whose apply rejected', async () => {
    const batches: number[][] = [];
    const gatherer = new BatchGatherer({ gatherMs: 0, maxItems: 1 }, async (batch: number[]) => {
      batches.push(batch);
      throw new Error('broken');
    });
    gatherer.add(1);
    gatherer.add(2);
    await elapse(5);
    expect(batches).toEqual([[1], [2]]);
  });
});
