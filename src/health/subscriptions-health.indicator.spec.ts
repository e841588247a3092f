import { isStopped, STOPPED_AFTER_ATTEMPTS } from './subscriptions-health.indicator';

describe('a reader counts as stopped on /health', () => {
  it('only after repeated failures at the same event, not on a single blip', () => {
    expect(isStopped(undefined)).toBe(false);
    expect(isStopped({ attempts: 1 })).toBe(false);
    expect(isStopped({ attempts: STOPPED_AFTER_ATTEMPTS - 1 })).toBe(false);
    expect(isStopped({ attempts: STOPPED_AFTER_ATTEMPTS })).toBe(true);
  });
});
