import { formatProgress, formatResult } from './rebuild-report';

describe('rebuild report', () => {
  it('a progress line shows done / total, share, rate and time left', () => {
    expect(
      formatProgress({ projection: 'order-summaries', eventsDone: 12_345, eventsTotal: 50_000, eventsPerSecond: 8_900.4, secondsLeft: 3.2 }),
    ).toBe('order-summaries: 12,345 / 50,000 events (24.7%), 8,900 ev/s, ~4 s left');
    expect(formatProgress({ projection: 'p', eventsDone: 0, eventsTotal: 0, eventsPerSecond: 0, secondsLeft: undefined })).toBe(
      'p: 0 / 0 events (100.0%), 0 ev/s, time left unknown',
    );
    expect(formatProgress({ projection: 'p', eventsDone: 1, eventsTotal: 2, eventsPerSecond: 1, secondsLeft: 3725 })).toContain('~1 h 2 min left');
  });

  const replayed = { projection: 'order-summaries', eventsReplayed: 50_000, seconds: 5.62 };

  it('a rebuild with identical rows says so and that it was swapped in', () => {
    expect(formatResult({ ...replayed, differences: { onlyInLive: 0, onlyInRebuilt: 0, sampleKeys: [] }, swapped: true })).toBe(
      'order-summaries: replayed 50,000 events in 5.6 s; rows identical to the live table; swapped in',
    );
  });

  it('differences name their counts and sample keys, and whether the table was kept', () => {
    const differences = { onlyInLive: 1, onlyInRebuilt: 2, sampleKeys: ['a', 'b'] };
    expect(formatResult({ ...replayed, differences, swapped: false })).toBe(
      'order-summaries: replayed 50,000 events in 5.6 s; rows differ from the live table: 1 only in the live one, 2 only in the rebuilt one (e.g. a, b); kept the live table and dropped the rebuilt one (--accept-differences swaps anyway)',
    );
    expect(formatResult({ ...replayed, differences, swapped: true })).toMatch(/swapped in as --accept-differences asks$/);
  });
});
