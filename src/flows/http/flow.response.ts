import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ConsumerEffectStatus, FlowNodeKind, PublishStatus } from '../flow-graph';

const NODE_KINDS: FlowNodeKind[] = ['request', 'command', 'event', 'reaction-step', 'publish', 'consumer-effect'];
const PUBLISH_STATUSES: PublishStatus[] = ['published', 'pending'];
const CONSUMER_EFFECT_STATUSES: ConsumerEffectStatus[] = ['applied', 'not-applied', 'consumer-unreachable', 'consumer-not-configured'];

export class FlowRequestResponse {
  @ApiProperty({ example: 'POST' }) method: string;
  @ApiProperty({ example: '/orders', description: 'without the query or fragment' }) path: string;
}

export class FlowCommandResponse {
  @ApiProperty({ example: 'ReserveCreditCommand' }) name: string;
  @ApiPropertyOptional({ example: 'reaction:order-fulfilment', description: 'the reaction whose step sent it' }) reaction?: string;
  @ApiPropertyOptional({ example: 'reserveCreditForPlacedOrder' }) step?: string;
}

export class FlowEventResponse {
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: 'Order' }) streamType: string;
  @ApiProperty({ format: 'uuid', description: 'its stream: GET /streams/{streamId}/events' }) streamId: string;
  @ApiProperty({ type: 'integer', example: 1 }) streamVersion: number;
  @ApiProperty({ type: 'string', nullable: true, example: '42', description: 'commit order; null until the sequencer numbered it' }) globalPosition: string | null;
}

export class FlowStepResponse {
  @ApiProperty({ example: 'reaction:order-fulfilment' }) reaction: string;
  @ApiProperty({ type: 'string', nullable: true, example: 'reserveCreditForPlacedOrder', description: 'null: the reaction took the event with no step to run' })
  step: string | null;
  @ApiProperty({ format: 'uuid', description: 'the event it took' }) eventId: string;
}

export class FlowPublishResponse {
  @ApiProperty({ example: 'com.example.orders.order-placed.v1', description: 'the routing key on the topic exchange: the integration event type' }) routingKey: string;
  @ApiProperty({ enum: PUBLISH_STATUSES, description: '`published`: confirmed by RabbitMQ (`at` is when it was sent, null when not recorded); `pending`: not yet' })
  status: PublishStatus;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'when the broker had confirmed its whole batch' }) confirmedAt: string | null;
}

export class FlowConsumerEffectResponse {
  @ApiProperty({ example: 'notifications' }) readModel: string;
  @ApiPropertyOptional({ example: 'ORDER_CONFIRMED' }) kind?: string;
  @ApiPropertyOptional({ example: 'Your order 0199… is confirmed.' }) message?: string;
}

export class FlowConsumerResponse {
  @ApiProperty({ enum: CONSUMER_EFFECT_STATUSES }) status: ConsumerEffectStatus;
  @ApiProperty({ type: [FlowConsumerEffectResponse] }) effects: FlowConsumerEffectResponse[];
}

export class FlowNodeResponse {
  @ApiProperty({ example: 'event:0199d3c4-5a6b-7c8d-9e0f-123456789abc', description: 'unique in the flow' }) id: string;
  @ApiProperty({ enum: NODE_KINDS }) kind: FlowNodeKind;
  @ApiProperty({ example: 'OrderPlaced' }) label: string;
  @ApiProperty({ type: 'string', format: 'date-time', nullable: true, description: 'when it happened; null when nothing recorded it' }) at: string | null;
  @ApiProperty({ type: 'number', nullable: true, example: 3, description: 'milliseconds since the flow started (see clockSkewMs)' }) offsetMs: number | null;
  @ApiProperty({ type: 'string', nullable: true, example: 'command:1', description: 'the node that caused it; null for a root' }) causedBy: string | null;
  @ApiProperty({ type: 'number', nullable: true, example: 2, description: 'milliseconds since its cause, never negative; null when either time is unknown' }) gapMs: number | null;
  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    example: 498,
    description:
      "present when this node's clock (the API's, PostgreSQL's or the consumer's) was behind its cause's: how many milliseconds later than `at` the node is placed (`offsetMs`, `gapMs`), so that it comes no earlier than its cause",
  })
  clockSkewMs?: number;
  @ApiPropertyOptional({ type: FlowRequestResponse, description: 'kind `request`' }) request?: FlowRequestResponse;
  @ApiPropertyOptional({ type: FlowCommandResponse, description: 'kind `command`' }) command?: FlowCommandResponse;
  @ApiPropertyOptional({ type: FlowEventResponse, description: 'kind `event`' }) event?: FlowEventResponse;
  @ApiPropertyOptional({ type: FlowStepResponse, description: 'kind `reaction-step`' }) step?: FlowStepResponse;
  @ApiPropertyOptional({ type: FlowPublishResponse, description: 'kind `publish`' }) publish?: FlowPublishResponse;
  @ApiPropertyOptional({ type: FlowConsumerResponse, description: 'kind `consumer-effect`' }) consumer?: FlowConsumerResponse;
}

export class FlowConsumerStatusResponse {
  @ApiProperty({ enum: ['reachable', 'unreachable', 'not-configured'], description: 'whether the consumer app (CONSUMER_URL) answered' })
  status: 'reachable' | 'unreachable' | 'not-configured';
  @ApiPropertyOptional({ example: 'the consumer at http://127.0.0.1:3001 is unreachable: ECONNREFUSED' }) detail?: string;
}

export class FlowResponse {
  @ApiProperty({ example: '0199d3c4-0000-7000-8000-000000000001' }) correlationId: string;
  @ApiProperty({ format: 'date-time', description: 'the earliest recorded time of the flow' }) startedAt: string;
  @ApiProperty({ format: 'date-time', description: 'the latest recorded time of the flow' }) endedAt: string;
  @ApiProperty({ example: 48, description: 'milliseconds from startedAt to endedAt' }) durationMs: number;
  @ApiProperty({ description: 'true when the correlation has more than 1,000 events: the later ones are left out' }) truncated: boolean;
  @ApiProperty({ type: FlowConsumerStatusResponse }) consumer: FlowConsumerStatusResponse;
  @ApiProperty({ type: [FlowNodeResponse], description: 'earliest first; each names its cause (`causedBy`), so the nodes form a tree per request' })
  nodes: FlowNodeResponse[];
}
