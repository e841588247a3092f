import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { describeError, readSubscriptionStatuses, SubscriptionFailure, SubscriptionStatus } from '../event-store';
import { withinTimeLimit } from '../shared/time-limit';
import { HEALTH_CHECK_TIMEOUT_MS } from './respond-with-health';

/**
 * Failed attempts at one event after which a reader counts as stopped. One failure is often a
 * blip (a connection cut, a deadlock) that the next try, 200 ms later, gets past; answering 503
 * for it would make an orchestrator restart healthy processes. Three attempts take about 0.6 s.
 */
export const STOPPED_AFTER_ATTEMPTS = 3;

/** Whether a reader's failure is an outage (see STOPPED_AFTER_ATTEMPTS) rather than a retry in progress. */
export function isStopped(failure: { attempts: number } | undefined): boolean {
  return !!failure && failure.attempts >= STOPPED_AFTER_ATTEMPTS;
}

/**
 * Every reader of the event store (projections, the relay, reactions), whichever process runs
 * it, with its lag in events and in seconds. One stopped at an event it cannot take (after
 * STOPPED_AFTER_ATTEMPTS; before, it shows as retrying) is down: it
 * is an outage of that reader (its read model or the integration events fall further behind
 * with every write), so /health answers 503 naming the event, the error, the attempts and since when.
 */
function describeFailure(failure: SubscriptionFailure | undefined) {
  return (
    failure && {
      stoppedAt: { eventId: failure.eventId, globalPosition: failure.globalPosition, eventType: failure.eventType },
      error: failure.error,
      attempts: failure.attempts,
      since: failure.since.toISOString(),
      lastAttemptAt: failure.lastAttemptAt.toISOString(),
    }
  );
}

@Injectable()
export class SubscriptionsHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async subscriptions() {
    const session = this.indicator.check('subscriptions');
    let statuses: SubscriptionStatus[];
    try {
      statuses = await withinTimeLimit(readSubscriptionStatuses(this.dataSource), HEALTH_CHECK_TIMEOUT_MS, 'PostgreSQL');
    } catch (error) {
      return session.down({ message: `cannot read the checkpoints: ${describeError(error)}` });
    }
    const readers = Object.fromEntries(
      statuses.map(({ subscriptionId, checkpoint, lagEvents, lagSeconds, failure, paused, segments }) => [
        subscriptionId,
        {
          checkpoint,
          lagEvents,
          lagSeconds,
          ...describeFailure(failure),
          // Paused by an operator (POST /admin/subscriptions/{id}/pause): its lag grows by intent, so it is no outage.
          ...(paused && { paused: { by: paused.by, reason: paused.reason, since: paused.since.toISOString() } }),
          // Split into segments: the figures above are the slowest segment's; each one here.
          ...(segments && {
            segments: segments.map((segment) => ({
              segment: segment.segment,
              checkpoint: segment.checkpoint,
              lagEvents: segment.lagEvents,
              lagSeconds: segment.lagSeconds,
              heldBy: segment.heldBy ?? null,
              ...describeFailure(segment.failure),
            })),
          }),
        },
      ]),
    );
    const stopped = statuses.filter((status) => isStopped(status.failure)).map((status) => status.subscriptionId);
    return stopped.length > 0 ? session.down({ stopped, readers }) : session.up({ stopped, readers });
  }
}
