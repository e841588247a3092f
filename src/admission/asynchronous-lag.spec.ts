import { drainRates } from './asynchronous-lag';

const at = (ms: number, positions: Record<string, number>) => ({ at: ms, positions: new Map(Object.entries(positions)) });

describe("a reader's drain rate", () => {
  it('is the events per second its checkpoint moved since the newest sample at least a second older', () => {
    const history = [at(0, { a: 100 }), at(500, { a: 100 }), at(1000, { a: 300 }), at(1500, { a: 400 })];
    // Base: the sample at 500 (the newest one at least 1000 ms before 1500).
    expect(drainRates(history, history[3]).get('a')).toBeCloseTo(300);
  });

  it('is unknown with less than a second of history, or for a reader the base sample did not have', () => {
    const history = [at(0, { a: 1 }), at(900, { a: 50, b: 7 })];
    expect(drainRates(history, history[1]).size).toBe(0);
    const later = at(1000, { a: 80, b: 9 });
    const rates = drainRates([...history, later], later);
    expect(rates.get('a')).toBeCloseTo(79);
    expect(rates.has('b')).toBe(false);
  });

  it('is 0, never negative, for a checkpoint moved back (an operator reset)', () => {
    const history = [at(0, { a: 500 }), at(2000, { a: 10 })];
    expect(drainRates(history, history[1]).get('a')).toBe(0);
  });
});
