import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { NestedObjectArray } from '../../../http/nested-request';
import { ORDER_LIMITS } from '../domain/order';
import { CanonicalUuid } from '../../../http/canonical-uuid';

export class OrderLineRequest {
  @ApiProperty({ example: 'SKU-001', minLength: 1, maxLength: ORDER_LIMITS.maxSkuLength })
  @IsString()
  @Length(1, ORDER_LIMITS.maxSkuLength)
  sku: string;

  @ApiProperty({ type: 'integer', example: 2, minimum: 1, maximum: ORDER_LIMITS.maxQuantity })
  @IsInt()
  @Min(1)
  @Max(ORDER_LIMITS.maxQuantity)
  quantity: number;

  @ApiProperty({ type: 'integer', example: 1250, minimum: 0, maximum: ORDER_LIMITS.maxUnitPrice, description: 'in minor units (1250 = 12.50)' })
  @IsInt()
  @Min(0)
  @Max(ORDER_LIMITS.maxUnitPrice)
  unitPrice: number;
}

export class PlaceOrderRequest {
  @ApiProperty({ format: 'uuid' })
  @CanonicalUuid()
  customerId: string;

  @ApiProperty({ example: 'EUR', pattern: '^[A-Z]{3}$' })
  @IsString()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be a 3-letter ISO 4217 code in capitals' })
  currency: string;

  @ApiProperty({ type: [OrderLineRequest], minItems: ORDER_LIMITS.minLines, maxItems: ORDER_LIMITS.maxLines })
  @NestedObjectArray(() => OrderLineRequest)
  @ArrayMinSize(ORDER_LIMITS.minLines)
  @ArrayMaxSize(ORDER_LIMITS.maxLines)
  lines: OrderLineRequest[];
}

export class CancelOrderRequest {
  @ApiProperty({ example: 'changed my mind', minLength: 1, maxLength: ORDER_LIMITS.maxReasonLength })
  @IsString()
  @Length(1, ORDER_LIMITS.maxReasonLength)
  reason: string;
}
