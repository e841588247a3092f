import 'reflect-metadata';
import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsBoolean, IsInt, IsISO8601, IsObject, IsString, IsUUID, Length, Min, ValidateNested } from 'class-validator';

// Integration events of the Orders module, version 1. Data only: consumers depend on these
// shapes, so a change that is not purely additive gets a new version next to this one.

/** CloudEvents `source` of every event of an order's stream: with `subject`, it scopes `sequence`. */
export const ORDER_EVENTS_SOURCE = '/eda/orders';

export class OrderLineV1 {
  @IsString() @Length(1, 64) sku: string;
  @IsInt() @Min(1) quantity: number;
  @IsInt() @Min(0) unitPrice: number;
}

export class OrderPlacedV1 {
  static readonly type = 'com.example.orders.order-placed.v1';
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsString() @Length(3, 3) currency: string;
  @IsInt() @Min(0) total: number;
  // IsObject on each element: ValidateNested alone passes `[[]]` (see src/http/nested-request.ts).
  @IsArray() @IsObject({ each: true }) @ValidateNested({ each: true }) @Type(() => OrderLineV1) @ArrayMinSize(1) lines: OrderLineV1[];
  @IsISO8601() placedAt: string;
}

export class OrderConfirmedV1 {
  static readonly type = 'com.example.orders.order-confirmed.v1';
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) total: number;
  @IsISO8601() confirmedAt: string;
}

export class OrderRejectedV1 {
  static readonly type = 'com.example.orders.order-rejected.v1';
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsString() @Length(1, 500) reason: string;
  @IsISO8601() rejectedAt: string;
}

export class OrderCancelledV1 {
  static readonly type = 'com.example.orders.order-cancelled.v1';
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsString() @Length(1, 500) reason: string;
  @IsInt() @Min(0) total: number;
  /** true when the order had been confirmed, so its amount had counted as spent. */
  @IsBoolean() wasConfirmed: boolean;
  @IsISO8601() cancelledAt: string;
}

export class OrderShippedV1 {
  static readonly type = 'com.example.orders.order-shipped.v1';
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) total: number;
  @IsISO8601() shippedAt: string;
}

/**
 * Credit was reserved for an order that had been decided without it (rejected, cancelled): the
 * order declines it, and the customer's account is to give it back.
 */
export class OrderCreditDeclinedV1 {
  static readonly type = 'com.example.orders.order-credit-declined.v1';
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsISO8601() declinedAt: string;
}
