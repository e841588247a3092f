import { DomainEvent, type StoredEventOf } from '../../../event-store';
import type { OrderLine, OrderStatus } from './order';

/** An amount of money: integer minor units of a 3-letter currency (1250 EUR is 12.50 €). */
export interface Money {
  amount: number;
  currency: string;
}

export class OrderPlacedEvent extends DomainEvent<{
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  total: Money;
  placedAt: string;
}> {
  static readonly type = 'OrderPlaced';
  /**
   * v2: `total` is Money carrying its currency. v1 had a bare `total` number next to a top-level
   * `currency`; orderPlacedV1ToV2 reads those rows (see order-event-upcasters.ts).
   */
  static readonly schemaVersion = 2;
}

export class OrderConfirmedEvent extends DomainEvent<{
  orderId: string;
  customerId: string;
  total: Money;
  confirmedAt: string;
}> {
  static readonly type = 'OrderConfirmed';
  /** v2: `total` is Money. v1's bare number was rewritten by a migration, see ORDER_TOTALS_AS_MONEY in order-event-upcasters.ts. */
  static readonly schemaVersion = 2;
}

export class OrderRejectedEvent extends DomainEvent<{
  orderId: string;
  customerId: string;
  reason: string;
  rejectedAt: string;
}> {
  static readonly type = 'OrderRejected';
}

export class OrderCancelledEvent extends DomainEvent<{
  orderId: string;
  customerId: string;
  reason: string;
  /** PENDING or CONFIRMED: tells consumers a confirmed order's cancellation from an undecided one's. */
  previousStatus: OrderStatus;
  total: Money;
  cancelledAt: string;
}> {
  static readonly type = 'OrderCancelled';
  /** v2: `total` is Money (see OrderConfirmedEvent). */
  static readonly schemaVersion = 2;
}

export class OrderShippedEvent extends DomainEvent<{
  orderId: string;
  customerId: string;
  total: Money;
  shippedAt: string;
}> {
  static readonly type = 'OrderShipped';
  /** v2: `total` is Money (see OrderConfirmedEvent). */
  static readonly schemaVersion = 2;
}

/**
 * Credit was reserved for an order decided without it meanwhile (rejected by its deadline or with
 * the customer's deactivation, cancelled): the order declines it, and the customer's account is
 * to give it back (the Users module's reaction to OrderCreditDeclinedV1). Changes nothing else.
 */
export class OrderCreditDeclinedEvent extends DomainEvent<{
  orderId: string;
  customerId: string;
  declinedAt: string;
}> {
  static readonly type = 'OrderCreditDeclined';
}

export type OrderEvent =
  | OrderCreditDeclinedEvent
  | OrderPlacedEvent
  | OrderConfirmedEvent
  | OrderRejectedEvent
  | OrderCancelledEvent
  | OrderShippedEvent;

export const ORDER_STREAM_TYPE = 'Order';

export const ORDER_EVENT_CLASSES = [
  OrderPlacedEvent,
  OrderConfirmedEvent,
  OrderRejectedEvent,
  OrderCancelledEvent,
  OrderShippedEvent,
  OrderCreditDeclinedEvent,
] as const;

/** An Order stream's stored event: `switch (event.eventType)` narrows its payload. */
export type OrderStoredEvent = StoredEventOf<(typeof ORDER_EVENT_CLASSES)[number]>;
