import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ORDER_STATUSES, type OrderStatus } from '../domain/order';

export class PlacedOrderResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ['PENDING'] })
  status: 'PENDING';
}

export class OrderLineResponse {
  @ApiProperty({ example: 'SKU-001' })
  sku: string;

  @ApiProperty({ type: 'integer', example: 2 })
  quantity: number;

  @ApiProperty({ type: 'integer', example: 1250, description: 'in minor units' })
  unitPrice: number;
}

export class OrderResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  customerId: string;

  @ApiProperty({ enum: ORDER_STATUSES })
  status: OrderStatus;

  @ApiProperty({ example: 'EUR' })
  currency: string;

  @ApiProperty({ type: [OrderLineResponse] })
  lines: OrderLineResponse[];

  @ApiProperty({ type: 'integer', example: 2500, description: 'sum of quantity × unitPrice, in minor units' })
  total: number;

  @ApiProperty({ type: 'integer', example: 1, description: 'the stream version this view reflects' })
  version: number;

  @ApiPropertyOptional({ example: 'insufficient credit' })
  rejectionReason?: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class OrderPageResponse {
  @ApiProperty({ type: [OrderResponse] })
  items: OrderResponse[];

  @ApiProperty({ type: String, nullable: true, description: 'pass as `cursor` for the next page; null on the last' })
  nextCursor: string | null;
}
