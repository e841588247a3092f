import { pooledRandomBytes } from './random-pool';
import { timeOrderedUuid } from './time-ordered-uuid';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix milliseconds in an id's first 48 bits. */
const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

/** A copy of the two modules of its own: a millisecond and a counter no earlier test moved. */
function freshModules(): { timeOrderedUuid: () => string; randomPool: typeof import('./random-pool') } {
  let modules: ReturnType<typeof freshModules> | undefined;
  jest.isolateModules(() => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    modules = { timeOrderedUuid: require('./time-ordered-uuid').timeOrderedUuid, randomPool: require('./random-pool') };
    /* eslint-enable @typescript-eslint/no-require-imports */
  });
  return modules!;
}

describe('timeOrderedUuid', () => {
  it('makes ids in the order they were made, also many within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => timeOrderedUuid());
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect(new Set(ids).size).toBe(ids.length);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
  });

  it('keeps the order across a refill of the entropy pool and a change of millisecond', async () => {
    const before = Array.from({ length: 300 }, () => timeOrderedUuid()); // 300 × 16 bytes > one 4 KiB pool
    await new Promise((resolve) => setTimeout(resolve, 2));
    const after = timeOrderedUuid();
    expect([...before, after]).toEqual([...before, after].sort());
  });

  describe('with the clock held still', () => {
    const START = Date.UTC(2026, 0, 1);
    let now: number;
    beforeEach(() => {
      now = START;
      jest.spyOn(Date, 'now').mockImplementation(() => now);
    });
    afterEach(() => jest.restoreAllMocks());

    it('keeps the order, and the millisecond it reached, when the clock steps back; a clock past it again is followed', () => {
      const { timeOrderedUuid } = freshModules();
      const before = [timeOrderedUuid(), timeOrderedUuid()];
      now -= 5_000; // NTP steps the clock back
      const stepped = [timeOrderedUuid(), timeOrderedUuid()];
      now += 10_000;
      const after = timeOrderedUuid();

      const ids = [...before, ...stepped, after];
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.map(msOf)).toEqual([START, START, START, START, START + 5_000]);
    });

    it('keeps the order when a counter seeded with its highest value counts on past its 31 random bits', () => {
      const { timeOrderedUuid, randomPool } = freshModules();
      // The seed is bytes 6..9 of the first id's entropy, top bit cleared: 0x7fffffff. The ids after
      // it count into the 32nd bit (negative as a 32-bit integer), in the same millisecond.
      jest.spyOn(randomPool, 'pooledRandomBytes').mockImplementationOnce(() => Buffer.alloc(16, 0xff));
      const ids = Array.from({ length: 4 }, () => timeOrderedUuid());

      expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-77ff-bfff-fff/);
      expect(ids[1]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7800-8000-0/);
      for (const id of ids) expect(id).toMatch(UUID_V7);
      expect([...ids].sort()).toEqual(ids);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.map(msOf)).toEqual([START, START, START, START]);
    });
  });

  it('carries the millisecond it was made in its first 48 bits', () => {
    const before = Date.now();
    const madeAt = parseInt(timeOrderedUuid().replace(/-/g, '').slice(0, 12), 16);
    expect(madeAt).toBeGreaterThanOrEqual(before);
    expect(madeAt).toBeLessThanOrEqual(Date.now());
  });
});

describe('pooledRandomBytes', () => {
  it('never hands the same bytes out twice, and what it handed out stays as it was after a refill', () => {
    const first = pooledRandomBytes(16);
    const kept = Buffer.from(first);
    const rest = Array.from({ length: 600 }, () => pooledRandomBytes(16).toString('hex'));
    expect(first.equals(kept)).toBe(true);
    expect(new Set([kept.toString('hex'), ...rest]).size).toBe(601);
  });

  it('refuses more than one pool at once', () => {
    expect(() => pooledRandomBytes(4097)).toThrow(RangeError);
  });
});
