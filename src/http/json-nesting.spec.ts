import { MAX_JSON_NESTING, nestsDeeperThan } from './json-nesting';

const nested = (levels: number): unknown => JSON.parse('['.repeat(levels) + ']'.repeat(levels));

describe('nestsDeeperThan', () => {
  it('accepts scalars, flat bodies and bodies exactly at the limit', () => {
    expect(nestsDeeperThan('text', 1)).toBe(false);
    expect(nestsDeeperThan(null, 1)).toBe(false);
    expect(nestsDeeperThan({ lines: [{ sku: 'A' }] }, 3)).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_NESTING), MAX_JSON_NESTING)).toBe(false);
  });

  it('refuses one level more, in arrays and objects alike', () => {
    expect(nestsDeeperThan({ lines: [{ sku: 'A' }] }, 2)).toBe(true);
    expect(nestsDeeperThan(nested(MAX_JSON_NESTING + 1), MAX_JSON_NESTING)).toBe(true);
    expect(nestsDeeperThan(JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)), MAX_JSON_NESTING)).toBe(true);
  });

  it('walks a body far deeper than the call stack allows without overflowing', () => {
    expect(nestsDeeperThan(nested(300_000), MAX_JSON_NESTING)).toBe(true);
  });
});
