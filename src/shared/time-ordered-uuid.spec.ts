import { pooledRandomBytes } from './random-pool';
import { timeOrderedUuid } from './time-ordered-uuid';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

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
