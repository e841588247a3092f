import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { RequireScopes } from '../../../auth/access.decorators';
import { DataSource } from 'typeorm';
import { CanonicalUuid } from '../../../http/canonical-uuid';

export class NotificationsRequest {
  @ApiProperty({ format: 'uuid' })
  @CanonicalUuid()
  customerId: string;
}

export class NotificationResponse {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid', description: 'the integration event it was made for' }) eventId: string;
  @ApiProperty({ example: 'ORDER_CONFIRMED' }) kind: string;
  @ApiProperty() message: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class NotificationsResponse {
  @ApiProperty({ type: [NotificationResponse] }) items: NotificationResponse[];
}

@ApiTags('notifications')
@Controller('notifications')
export class NotificationsController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  @Get()
  @RequireScopes('users:read')
  @ApiOkResponse({ type: NotificationsResponse, description: 'Newest first, at most 500' })
  async list(@Query() { customerId }: NotificationsRequest): Promise<NotificationsResponse> {
    const rows: Array<NotificationResponse & { createdAt: Date }> = await this.db.query(
      `SELECT id, event_id AS "eventId", kind, message, created_at AS "createdAt"
       FROM notifications WHERE customer_id = $1 ORDER BY created_at DESC, id DESC LIMIT 500`,
      [customerId],
    );
    return { items: rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt).toISOString() })) };
  }
}
