import { ApiProperty } from '@nestjs/swagger';

export class EventMetadataResponse {
  @ApiProperty({ description: 'the request (or chain of reactions) this event belongs to' })
  correlationId: string;

  @ApiProperty({ description: 'what directly caused this event: the request or an earlier event' })
  causationId: string;

  @ApiProperty({ format: 'date-time' })
  occurredAt: string;
}

export class StreamEventResponse {
  @ApiProperty({ example: '42', description: 'global position in the store' })
  position: string;

  @ApiProperty({ format: 'uuid' })
  eventId: string;

  @ApiProperty({ example: 'OrderPlaced' })
  type: string;

  @ApiProperty({ example: 1 })
  streamVersion: number;

  @ApiProperty({ example: 1 })
  schemaVersion: number;

  @ApiProperty({ type: 'object', additionalProperties: true })
  payload: Record<string, unknown>;

  @ApiProperty({ type: EventMetadataResponse })
  metadata: EventMetadataResponse;

  @ApiProperty({ format: 'date-time' })
  recordedAt: string;
}

export class StreamResponse {
  @ApiProperty({ format: 'uuid' })
  streamId: string;

  @ApiProperty({ example: 'Order' })
  streamType: string;

  @ApiProperty({ example: 3 })
  version: number;

  @ApiProperty({ type: [StreamEventResponse] })
  events: StreamEventResponse[];
}
