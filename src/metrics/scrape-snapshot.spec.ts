import { ScrapeSnapshot } from './scrape-snapshot';

describe('ScrapeSnapshot', () => {
  it('measures once for the gauges of one scrape, and again for the next scrape', async () => {
    let measured = 0;
    const snapshot = new ScrapeSnapshot(async () => ++measured);
    expect(await Promise.all([snapshot.take(), snapshot.take()])).toEqual([1, 1]);
    expect(await snapshot.take()).toBe(2);
  });

  it('measures again after a failed measurement', async () => {
    let attempts = 0;
    const snapshot = new ScrapeSnapshot(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('database down');
      return attempts;
    });
    await expect(snapshot.take()).rejects.toThrow('database down');
    expect(await snapshot.take()).toBe(2);
  });
});
