import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class EventMetadataResponse {
  @ApiProperty({ description: 'the request (or chain of reactions) this event belongs to' })
  correlationId: string;

  @ApiProperty({ description: 'what directly caused this event: the request or an earlier event' })
  causationId: string;

  @ApiProperty({ format: 'date-time' })
  occurredAt: string;

  @ApiPropertyOptional({
    example: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    description: 'W3C Trace Context of the span that wrote the event (its command); absent when tracing was off',
  })
  traceparent?: string;

  @ApiPropertyOptional({ description: 'W3C Trace Context vendor state that went with traceparent, if any' })
  tracestate?: string;

  @ApiPropertyOptional({ type: Object, example: { id: 'Xq0b2ZtK', method: 'POST', path: '/orders', receivedAt: '2026-12-01T10:00:00.000Z' }, description: 'the HTTP request whose command wrote the event' })
  request?: { id?: string; method: string; path: string; receivedAt: string };

  @ApiPropertyOptional({
    type: Object,
    example: { id: 'mR4v_9Lc', name: 'ReserveCreditCommand', startedAt: '2026-12-01T10:00:00.010Z', reaction: 'reaction:order-credit', step: 'reserveCreditForPlacedOrder' },
    description: 'the command that wrote the event, and the reaction step that sent it, if one did',
  })
  command?: { id?: string; name: string; startedAt: string; reaction?: string; step?: string };
}

export class StreamEventLinksResponse {
  @ApiProperty({
    example: '/flows/0199d3c4-0000-7000-8000-000000000001',
    description: 'the flow of the request this event belongs to: JSON with a bearer token, the page that draws it in a browser',
  })
  flow: string;
}

export class StreamEventResponse {
  @ApiProperty({ example: '42', description: 'global position in the store' })
  position: string;

  @ApiProperty({ format: 'uuid' })
  eventId: string;

  @ApiProperty({ example: 'OrderPlaced' })
  type: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 1, description: 'its version within the stream (1, 2, …)' })
  streamVersion: number;

  @ApiProperty({ type: 'integer', minimum: 1, example: 1, description: 'the version of its payload schema' })
  schemaVersion: number;

  @ApiProperty({ type: 'object', additionalProperties: true })
  payload: Record<string, unknown>;

  @ApiProperty({ type: EventMetadataResponse })
  metadata: EventMetadataResponse;

  @ApiProperty({ format: 'date-time' })
  recordedAt: string;

  @ApiProperty({ type: StreamEventLinksResponse })
  links: StreamEventLinksResponse;
}

export class StreamResponse {
  @ApiProperty({ format: 'uuid' })
  streamId: string;

  @ApiProperty({ example: 'Order' })
  streamType: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 3, description: 'the version of the last event' })
  version: number;

  @ApiProperty({ type: [StreamEventResponse] })
  events: StreamEventResponse[];
}
