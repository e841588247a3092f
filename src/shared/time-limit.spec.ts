import { setTimeout as sleep } from 'node:timers/promises';
import { TimeLimitExceededError, withinTimeLimit } from './time-limit';

describe('withinTimeLimit', () => {
  it('gives what the work gives, or its failure, when it settles in time', async () => {
    await expect(withinTimeLimit(Promise.resolve(7), 100, 'the database')).resolves.toBe(7);
    await expect(withinTimeLimit(Promise.reject(new Error('refused')), 100, 'the database')).rejects.toThrow('refused');
  });

  it('fails once the time is up, naming what did not answer, when the work never settles', async () => {
    const startedAt = performance.now();
    await expect(withinTimeLimit(new Promise(() => undefined), 50, 'PostgreSQL')).rejects.toThrow(
      new TimeLimitExceededError('PostgreSQL did not answer within 50 ms'),
    );
    expect(performance.now() - startedAt).toBeLessThan(1_000);
  });

  it('swallows a late failure of the work it gave up on', async () => {
    const late = sleep(80).then(() => Promise.reject(new Error('late')));
    await expect(withinTimeLimit(late, 20, 'PostgreSQL')).rejects.toThrow(TimeLimitExceededError);
    await sleep(100); // an unhandled rejection here would fail the test run
  });
});
