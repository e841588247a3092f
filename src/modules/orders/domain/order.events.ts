import type { StoredEventOf } from '../../../event-store';
import type { OrderLine, OrderStatus } from './order';

/** An amount of money: integer minor units of a 3-letter currency (1250 EUR is 12.50 €). */
export interface Money {
  amount: number;
  currency: string;
}

export class OrderPlacedEvent {
  static readonly type = 'OrderPlaced';
  /**
   * v2: `total` is Money carrying its currency. v1 had a bare `total` number next to a top-level
   * `currency`; orderPlacedV1ToV2 reads those rows (see order-event-upcasters.ts).
   */
  static readonly schemaVersion = 2;
  readonly orderId: string;
  readonly customerId: string;
  readonly lines: OrderLine[];
  readonly total: Money;
  readonly placedAt: string;

  constructor(props: OrderPlacedEvent) {
    Object.assign(this, props);
  }
}

export class OrderConfirmedEvent {
  static readonly type = 'OrderConfirmed';
  readonly orderId: string;
  readonly customerId: string;
  readonly total: number;
  readonly confirmedAt: string;

  constructor(props: OrderConfirmedEvent) {
    Object.assign(this, props);
  }
}

export class OrderRejectedEvent {
  static readonly type = 'OrderRejected';
  readonly orderId: string;
  readonly customerId: string;
  readonly reason: string;
  readonly rejectedAt: string;

  constructor(props: OrderRejectedEvent) {
    Object.assign(this, props);
  }
}

export class OrderCancelledEvent {
  static readonly type = 'OrderCancelled';
  readonly orderId: string;
  readonly customerId: string;
  readonly reason: string;
  /** PENDING or CONFIRMED: tells consumers a confirmed order's cancellation from an undecided one's. */
  readonly previousStatus: OrderStatus;
  readonly total: number;
  readonly cancelledAt: string;

  constructor(props: OrderCancelledEvent) {
    Object.assign(this, props);
  }
}

export class OrderShippedEvent {
  static readonly type = 'OrderShipped';
  readonly orderId: string;
  readonly customerId: string;
  readonly total: number;
  readonly shippedAt: string;

  constructor(props: OrderShippedEvent) {
    Object.assign(this, props);
  }
}

export type OrderEvent =
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
] as const;

/** An Order stream's stored event: `switch (event.eventType)` narrows its payload. */
export type OrderStoredEvent = StoredEventOf<(typeof ORDER_EVENT_CLASSES)[number]>;
