import type { SubscriptionStatus } from '../../event-store';
import { toStatusResponse } from './subscription.response';

const since = new Date('2026-11-23T10:00:00.000Z');
const failure = { eventId: 'e', globalPosition: 42, eventType: 'OrderPlaced', error: 'boom', attempts: 3, since, lastAttemptAt: since };
const status = (subscriptionId: string, extra: Partial<SubscriptionStatus> = {}): SubscriptionStatus => ({ subscriptionId, checkpoint: 41, lagEvents: 2, lagSeconds: 1.5, ...extra });

describe('a subscription as the admin API shows it', () => {
  it('is running, stopped at an event, or paused, a pause outranking a failure', () => {
    expect(toStatusResponse(status('projection:x')).state).toBe('running');
    expect(toStatusResponse(status('projection:x', { failure })).state).toBe('stopped');
    expect(toStatusResponse(status('projection:x', { failure, paused: { by: 'ops', reason: 'r', since } }))).toMatchObject({
      state: 'paused',
      failure: { stoppedAt: { eventId: 'e', globalPosition: 42, eventType: 'OrderPlaced' }, attempts: 3, since: since.toISOString() },
      paused: { by: 'ops', reason: 'r', since: since.toISOString() },
    });
  });

  it('says what kind of reader it is from its id', () => {
    expect(['projection:a', 'reaction:b', 'relay:c', 'custom'].map((id) => toStatusResponse(status(id)).kind)).toEqual(['projection', 'reaction', 'relay', 'other']);
  });

  it('shows each segment of a subscription split into segments, and none otherwise', () => {
    expect(toStatusResponse(status('projection:x')).segments).toBeNull();
    const split = toStatusResponse(status('projection:x', { segments: [{ segment: 0, checkpoint: 41, lagEvents: 2, lagSeconds: 1.5, heldBy: 'api 1' }] }));
    expect(split.segments).toEqual([{ segment: 0, checkpoint: 41, lagEvents: 2, lagSeconds: 1.5, heldBy: 'api 1', failure: null }]);
  });
});
