import { SingleFlight } from './single-flight';

describe('SingleFlight', () => {
  it('runs once for the callers that ask while it runs, and again for the next caller', async () => {
    let measured = 0;
    const flight = new SingleFlight(async () => ++measured);
    expect(await Promise.all([flight.run(), flight.run()])).toEqual([1, 1]);
    expect(await flight.run()).toBe(2);
  });

  it('runs again after a failed run', async () => {
    let attempts = 0;
    const flight = new SingleFlight(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error('database down');
      return attempts;
    });
    await expect(flight.run()).rejects.toThrow('database down');
    expect(await flight.run()).toBe(2);
  });
});
