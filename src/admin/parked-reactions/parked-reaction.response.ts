import { ApiProperty } from '@nestjs/swagger';
import type { ParkedReaction } from '../../event-store';

export class ParkedReactionResponse {
  @ApiProperty({ example: 'reaction:order-fulfilment', description: "the reaction's subscription id" })
  reaction: string;

  @ApiProperty({ example: 'reserveCredit', description: 'the step that failed: a saga member, or `handle` for an event handler' })
  step: string;

  @ApiProperty({ format: 'uuid' })
  eventId: string;

  @ApiProperty({ example: 'OrderPlaced' })
  eventType: string;

  @ApiProperty({ format: 'uuid', description: 'the stream (aggregate) of the event' })
  streamId: string;

  @ApiProperty({ example: '42', description: 'global position of the event, a decimal string (a bigint)' })
  eventPosition: string;

  @ApiProperty({ type: 'integer', example: 5 })
  attempts: number;

  @ApiProperty({ format: 'date-time' })
  parkedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'set while a requested retry waits for the running API; null otherwise' })
  retryRequestedAt: string | null;

  @ApiProperty({ example: 'Error: credit service unreachable' })
  lastError: string;
}

export class ParkedReactionListResponse {
  @ApiProperty({ type: 'integer', description: 'parked steps in all (the list holds at most `limit` of them, the longest parked first)' })
  total: number;

  @ApiProperty({ type: [ParkedReactionResponse] })
  items: ParkedReactionResponse[];
}

export class ParkedRetryResponse {
  @ApiProperty({
    type: 'integer',
    example: 1,
    description: 'parked steps the retry was requested for; the running API tries each within seconds: a success removes it, a failure parks it again',
  })
  requested: number;
}

export function toParkedReactionResponse(parked: ParkedReaction): ParkedReactionResponse {
  return {
    reaction: parked.reaction,
    step: parked.step,
    eventId: parked.eventId,
    eventType: parked.eventType,
    streamId: parked.streamId,
    eventPosition: parked.eventPosition,
    attempts: parked.attempts,
    parkedAt: parked.parkedAt.toISOString(),
    retryRequestedAt: parked.retryRequestedAt?.toISOString() ?? null,
    lastError: parked.lastError,
  };
}
