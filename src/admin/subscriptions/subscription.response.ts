import { ApiProperty } from '@nestjs/swagger';
import type { SegmentStatus, SubscriptionFailure, SubscriptionPause, SubscriptionStatus } from '../../event-store';

export class FailingEventResponse {
  @ApiProperty({ format: 'uuid' })
  eventId: string;

  @ApiProperty({ type: 'integer', example: 42, description: 'its global position (commit order)' })
  globalPosition: number;

  @ApiProperty({ example: 'OrderPlaced' })
  eventType: string;
}

export class SubscriptionFailureResponse {
  @ApiProperty({ type: FailingEventResponse, description: 'the first event after the checkpoint, which the reader cannot take' })
  stoppedAt: FailingEventResponse;

  @ApiProperty({ example: "TypeError: Cannot read properties of undefined (reading 'currency')" })
  error: string;

  @ApiProperty({ type: 'integer', example: 7, description: 'failed attempts at this event so far; the reader tries again with a doubling delay' })
  attempts: number;

  @ApiProperty({ format: 'date-time', description: 'first failure at this event' })
  since: string;

  @ApiProperty({ format: 'date-time' })
  lastAttemptAt: string;
}

export class SubscriptionPauseResponse {
  @ApiProperty({ example: 'ops-ada', description: "who paused it (the token's `sub`, or the CLI's user)" })
  by: string;

  @ApiProperty({ example: 'credit service maintenance' })
  reason: string;

  @ApiProperty({ format: 'date-time' })
  since: string;
}

export class SegmentStatusResponse {
  @ApiProperty({ type: 'integer', example: 0 })
  segment: number;

  @ApiProperty({ type: 'integer', example: 41 })
  checkpoint: number;

  @ApiProperty({ type: 'integer', example: 3 })
  lagEvents: number;

  @ApiProperty({ example: 12.5 })
  lagSeconds: number;

  @ApiProperty({ type: String, nullable: true, example: 'eda-api 4711 leases', description: 'the lease session holding the segment; null: no process holds it' })
  heldBy: string | null;

  @ApiProperty({ type: SubscriptionFailureResponse, nullable: true })
  failure: SubscriptionFailureResponse | null;
}

const KINDS = ['projection', 'reaction', 'relay', 'other'] as const;
const STATES = ['running', 'stopped', 'paused'] as const;

export class SubscriptionStatusResponse {
  @ApiProperty({ example: 'projection:order-summaries', description: 'the checkpoint id; every operation on it takes this id' })
  subscriptionId: string;

  @ApiProperty({ enum: KINDS, description: 'from the id: a read model, a saga or event handler, or the outbox relay' })
  kind: (typeof KINDS)[number];

  @ApiProperty({
    enum: STATES,
    description:
      '`paused`: an operator paused it (it takes no event until resumed); `stopped`: it is stopped at an event it cannot take ' +
      '(see `failure`; it retries with back-off: fix the cause and retry, or skip the event); `running` otherwise',
  })
  state: (typeof STATES)[number];

  @ApiProperty({ type: 'integer', example: 41, description: 'global position of the last event it took (split into segments: the lowest)' })
  checkpoint: number;

  @ApiProperty({ type: 'integer', example: 3, description: 'committed events it has yet to take' })
  lagEvents: number;

  @ApiProperty({ example: 12.5, description: 'age of the oldest event it has yet to take, in seconds (0 when caught up)' })
  lagSeconds: number;

  @ApiProperty({ type: SubscriptionFailureResponse, nullable: true })
  failure: SubscriptionFailureResponse | null;

  @ApiProperty({ type: SubscriptionPauseResponse, nullable: true })
  paused: SubscriptionPauseResponse | null;

  @ApiProperty({
    type: [SegmentStatusResponse],
    nullable: true,
    description: 'split into segments (SUBSCRIPTION_SEGMENTS > 1): each one; the figures above are the slowest segment\'s. null otherwise',
  })
  segments: SegmentStatusResponse[] | null;
}

export class SubscriptionListResponse {
  @ApiProperty({ type: [SubscriptionStatusResponse] })
  items: SubscriptionStatusResponse[];
}

export class SkippedEventResponse {
  @ApiProperty({ example: 'projection:order-summaries' })
  subscriptionId: string;

  @ApiProperty({ type: FailingEventResponse, description: 'the event skipped: the reader went on after it' })
  skipped: FailingEventResponse;

  @ApiProperty({ type: 'integer', description: 'failed attempts at it before the skip' })
  attempts: number;

  @ApiProperty({ example: 'ops-ada', description: "the token's `sub`, recorded in `skipped_events`" })
  skippedBy: string;

  @ApiProperty({ example: 'order refused by the read model; fixed by hand' })
  reason: string;
}

export function toFailureResponse(failure: SubscriptionFailure | undefined): SubscriptionFailureResponse | null {
  if (!failure) return null;
  return {
    stoppedAt: toFailingEvent(failure),
    error: failure.error,
    attempts: failure.attempts,
    since: failure.since.toISOString(),
    lastAttemptAt: failure.lastAttemptAt.toISOString(),
  };
}

export function toFailingEvent({ eventId, globalPosition, eventType }: SubscriptionFailure): FailingEventResponse {
  return { eventId, globalPosition: Number(globalPosition), eventType };
}

function toPauseResponse(pause: SubscriptionPause | undefined): SubscriptionPauseResponse | null {
  return pause ? { by: pause.by, reason: pause.reason, since: pause.since.toISOString() } : null;
}

function toSegmentResponse(segment: SegmentStatus): SegmentStatusResponse {
  return {
    segment: segment.segment,
    checkpoint: segment.checkpoint,
    lagEvents: segment.lagEvents,
    lagSeconds: segment.lagSeconds,
    heldBy: segment.heldBy ?? null,
    failure: toFailureResponse(segment.failure),
  };
}

export function toStatusResponse(status: SubscriptionStatus): SubscriptionStatusResponse {
  const prefix = status.subscriptionId.split(':')[0];
  return {
    subscriptionId: status.subscriptionId,
    kind: (KINDS as readonly string[]).includes(prefix) ? (prefix as SubscriptionStatusResponse['kind']) : 'other',
    state: status.paused ? 'paused' : status.failure ? 'stopped' : 'running',
    checkpoint: status.checkpoint,
    lagEvents: status.lagEvents,
    lagSeconds: status.lagSeconds,
    failure: toFailureResponse(status.failure),
    paused: toPauseResponse(status.paused),
    segments: status.segments?.map(toSegmentResponse) ?? null,
  };
}
