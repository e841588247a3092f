import type { OrderLine, OrderStatus } from './order';

export class OrderPlacedEvent {
  static readonly type = 'OrderPlaced';
  readonly orderId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly lines: OrderLine[];
  readonly total: number;
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
  /** CONFIRMED means credit was reserved and must be released. */
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
];
