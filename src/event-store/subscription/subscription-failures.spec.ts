import { describeError, failureOf } from './subscription-failures';

describe('subscription failures', () => {
  it('reads a checkpoint row without a failing event as not stopped', () => {
    expect(
      failureOf({
        failingEventId: null,
        failingGlobalPosition: null,
        failingEventType: null,
        lastError: null,
        failedAttempts: 0,
        failingSince: null,
        lastFailedAt: null,
      }),
    ).toBeUndefined();
  });

  it('reads a checkpoint row with a failing event as stopped at it', () => {
    const since = new Date('2026-11-23T10:00:00Z');
    const last = new Date('2026-11-23T10:00:12Z');
    expect(
      failureOf({
        failingEventId: 'e',
        failingGlobalPosition: 42,
        failingEventType: 'OrderPlaced',
        lastError: 'TypeError: boom',
        failedAttempts: 7,
        failingSince: since,
        lastFailedAt: last,
      }),
    ).toEqual({ eventId: 'e', globalPosition: 42, eventType: 'OrderPlaced', error: 'TypeError: boom', attempts: 7, since, lastAttemptAt: last });
  });

  it('describes an error by its name and message, cut to a bounded length', () => {
    expect(describeError(new TypeError('boom'))).toBe('TypeError: boom');
    expect(describeError('plain')).toBe('plain');
    expect(describeError(new Error('x'.repeat(5000)))).toHaveLength(2001);
  });
});
