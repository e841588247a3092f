import { fairShare, planLeases, resegment, segmentOf } from './segments';

describe('segmentOf', () => {
  it('puts every key in one segment of range, the same in every process and release', () => {
    expect(segmentOf('anything', 1)).toBe(0);
    // FNV-1a 32 of "a" is 0xe40c292c: fixed values, so a change of the hash fails here, not in production.
    expect(segmentOf('a', 2 ** 31)).toBe(0xe40c292c % 2 ** 31);
    expect(segmentOf('0b7e6f1c-3f43-4d55-9b9e-8d4b3c2f6a10', 4)).toBe(segmentOf('0b7e6f1c-3f43-4d55-9b9e-8d4b3c2f6a10', 4));
    for (let i = 0; i < 100; i += 1) expect(segmentOf(`key-${i}`, 8)).toBeGreaterThanOrEqual(0);
  });

  it('spreads uuids about evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i += 1) counts[segmentOf(crypto.randomUUID(), 4)] += 1;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });

  it('splits a segment into a multiple: the new segment j holds keys of old segment j mod S only', () => {
    for (let i = 0; i < 1000; i += 1) {
      const key = crypto.randomUUID();
      expect(segmentOf(key, 8) % 4).toBe(segmentOf(key, 4));
    }
  });
});

describe('fair share and lease planning', () => {
  it('is ceil(segments / processes)', () => {
    expect(fairShare(4, 1)).toBe(4);
    expect(fairShare(4, 2)).toBe(2);
    expect(fairShare(4, 3)).toBe(2);
    expect(fairShare(1, 2)).toBe(1);
    expect(fairShare(8, 0)).toBe(8);
  });

  it('takes free segments up to its share', () => {
    expect(planLeases({ segments: 4, members: 1, mine: [], others: [], free: [0, 1, 2, 3] })).toEqual({ acquire: [0, 1, 2, 3], release: [] });
    expect(planLeases({ segments: 4, members: 2, mine: [], others: [2], free: [2, 3] })).toEqual({ acquire: [2, 3], release: [] });
    expect(planLeases({ segments: 4, members: 2, mine: [0, 1], others: [2], free: [] })).toEqual({ acquire: [], release: [] });
  });

  it('gives back what it holds beyond its share when another process joined', () => {
    expect(planLeases({ segments: 4, members: 2, mine: [0, 1, 2, 3], others: [], free: [] })).toEqual({ acquire: [], release: [2, 3] });
  });

  it('gives one back for a process left with fewer than floor(S / P)', () => {
    // Three processes, four segments: 2 + 2 + 0 becomes 1 + 1 + 2, not a process without work.
    expect(planLeases({ segments: 4, members: 3, mine: [0, 1], others: [2], free: [] })).toEqual({ acquire: [], release: [1] });
    expect(planLeases({ segments: 4, members: 3, mine: [0], others: [1, 2], free: [] })).toEqual({ acquire: [], release: [] });
    expect(planLeases({ segments: 4, members: 3, mine: [], others: [1, 1], free: [2, 3] })).toEqual({ acquire: [2, 3], release: [] });
  });

  it('takes over a dead process segments (its locks are free)', () => {
    expect(planLeases({ segments: 4, members: 1, mine: [0, 1], others: [], free: [2, 3] })).toEqual({ acquire: [2, 3], release: [] });
  });
});

describe('resegment', () => {
  it('splits into a multiple from each parent segment', () => {
    expect(resegment([10n, 20n], 4, false)).toEqual({ positions: [10n, 20n, 10n, 20n] });
    expect(resegment([7n], 8, false)).toEqual({ positions: Array(8).fill(7n) });
  });

  it('merges segments standing at one position', () => {
    expect(resegment([9n, 9n, 9n, 9n], 1, false)).toEqual({ positions: [9n] });
    expect(resegment([9n, 9n], 3, false)).toEqual({ positions: [9n, 9n, 9n] });
  });

  it('refuses to merge a projection whose segments stand apart, and restarts a reaction from the lowest', () => {
    expect(resegment([9n, 12n], 1, false)).toEqual({ refused: expect.stringContaining('SUBSCRIPTION_SEGMENTS=2') });
    expect(resegment([9n, 12n], 3, true)).toEqual({ positions: [9n, 9n, 9n] });
  });
});
