import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray } from 'class-validator';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../../auth/access.decorators';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { invalidFields } from '../../http/openapi/problem-causes';
import { countsInCustomerStats } from '../read-models/customer-stats/customer-stats.projection';
import { CanonicalUuid } from '../../http/canonical-uuid';

/** At most this many event ids per request: a flow's events, asked for by GET /flows on the API. */
export const MAX_EVENT_IDS = 500;

export class InboxEffectsRequest {
  @ApiProperty({
    type: [String],
    format: 'uuid',
    maxItems: MAX_EVENT_IDS,
    description: 'integration event ids (the CloudEvent `id`, the stored event id); repeat the parameter for each',
  })
  @Transform(({ value }: { value: unknown }) => (Array.isArray(value) ? value : [value]))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_EVENT_IDS)
  @CanonicalUuid({ each: true })
  eventId: string[];
}

export class ConsumerEffectResponse {
  @ApiProperty({ example: 'notifications', description: 'the read model the event changed' })
  readModel: string;

  @ApiPropertyOptional({ example: 'ORDER_CONFIRMED', description: 'the notification made for the event' })
  kind?: string;

  @ApiPropertyOptional({ example: 'Your order 0199… is confirmed.' })
  message?: string;
}

export class InboxEntryResponse {
  @ApiProperty({ format: 'uuid' }) eventId: string;
  @ApiProperty({ example: 'com.example.orders.order-confirmed.v1' }) type: string;
  @ApiProperty({ format: 'date-time', description: 'when the inbox applied it, in the transaction of its effects' }) appliedAt: string;
  @ApiProperty({ type: [ConsumerEffectResponse] }) effects: ConsumerEffectResponse[];
}

export class InboxEffectsResponse {
  @ApiProperty({ type: [InboxEntryResponse], description: 'the asked-for events the inbox holds; one it does not hold (not applied yet, or pruned) is left out' })
  items: InboxEntryResponse[];
}

/**
 * What the consumer did with given integration events, and when: its inbox row (applied, in the
 * transaction of the effects) and the read models it changed. The API's GET /flows/{correlationId}
 * asks here over HTTP, forwarding its caller's token; it never reads this database.
 */
@ApiTags('inbox')
@Controller('inbox')
export class InboxEffectsController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  @Get()
  @RequireScopes('admin')
  @ApiOperation({ summary: 'When the consumer applied given events, and what they changed' })
  @ApiOkResponse({ type: InboxEffectsResponse })
  @ApiProblems(invalidFields([{ field: 'eventId', message: 'each value in eventId must be a UUID' }], 'An eventId is not a UUID'))
  async effects(@Query() { eventId }: InboxEffectsRequest): Promise<InboxEffectsResponse> {
    const rows: Array<{ eventId: string; type: string; appliedAt: Date; notifications: Array<{ kind: string; message: string }> }> = await this.db.query(
      `SELECT i.event_id AS "eventId", i.type, i.applied_at AS "appliedAt",
         coalesce((SELECT json_agg(json_build_object('kind', n.kind, 'message', n.message)) FROM notifications n WHERE n.event_id = i.event_id), '[]') AS notifications
       FROM inbox i WHERE i.event_id = ANY($1::uuid[])
       ORDER BY i.applied_at`,
      [eventId],
    );
    return {
      items: rows.map(({ eventId: id, type, appliedAt, notifications }) => ({
        eventId: id,
        type,
        appliedAt: new Date(appliedAt).toISOString(),
        effects: [
          ...notifications.map(({ kind, message }) => ({ readModel: 'notifications', kind, message })),
          ...(countsInCustomerStats(type) ? [{ readModel: 'customer-stats' }] : []),
        ],
      })),
    };
  }
}
