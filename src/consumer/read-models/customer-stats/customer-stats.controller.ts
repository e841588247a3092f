import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../../../auth/access.decorators';
import { DomainError } from '../../../shared/domain-error';
import { CanonicalUuidPipe } from '../../../http/canonical-uuid';

export class CustomerStatsResponse {
  @ApiProperty({ format: 'uuid' }) customerId: string;
  @ApiProperty() ordersPlaced: number;
  @ApiProperty() ordersConfirmed: number;
  @ApiProperty() ordersCancelled: number;
  @ApiProperty({ description: 'confirmed orders less those cancelled afterwards, in minor units' }) totalSpent: number;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class CustomerNotKnownError extends DomainError {
  readonly code = 'CUSTOMER_NOT_KNOWN';
  readonly kind = 'not-found';

  constructor(customerId: string) {
    super(`no events have been received for customer ${customerId}`);
  }
}

@ApiTags('customers')
@Controller('customers')
export class CustomerStatsController {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  @Get(':id/stats')
  @RequireScopes('orders:read')
  @ApiOkResponse({ type: CustomerStatsResponse })
  async stats(@Param('id', new CanonicalUuidPipe()) id: string): Promise<CustomerStatsResponse> {
    const [row] = await this.db.query(
      `SELECT customer_id AS "customerId", orders_placed AS "ordersPlaced", orders_confirmed AS "ordersConfirmed",
              orders_cancelled AS "ordersCancelled", total_spent::float8 AS "totalSpent", updated_at AS "updatedAt"
       FROM customer_stats WHERE customer_id = $1`,
      [id],
    );
    if (!row) throw new CustomerNotKnownError(id);
    return { ...row, updatedAt: new Date(row.updatedAt).toISOString() };
  }
}
