import { DomainError } from '../../../shared/domain-error';
import type { OrderStatus } from './order';

export class OrderNotFoundError extends DomainError {
  readonly code = 'ORDER_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(orderId: string) {
    super(`order ${orderId} does not exist`);
  }
}

export class CustomerNotFoundError extends DomainError {
  readonly code = 'CUSTOMER_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(customerId: string) {
    super(`customer ${customerId} does not exist`);
  }
}

export class OrderCannotBeCancelledError extends DomainError {
  readonly code = 'ORDER_NOT_CANCELLABLE';
  readonly kind = 'conflict';

  constructor(orderId: string, status: OrderStatus) {
    super(`order ${orderId} is ${status} and can no longer be cancelled`);
  }
}

export class OrderCannotBeShippedError extends DomainError {
  readonly code = 'ORDER_NOT_SHIPPABLE';
  readonly kind = 'conflict';

  constructor(orderId: string, status: OrderStatus) {
    super(`only a CONFIRMED order can be shipped; order ${orderId} is ${status}`);
  }
}

export class OrderNotPendingError extends DomainError {
  readonly code = 'ORDER_NOT_PENDING';
  readonly kind = 'conflict';

  constructor(orderId: string, status: OrderStatus) {
    super(`order ${orderId} is ${status}, no longer PENDING`);
  }
}

export class InvalidOrderError extends DomainError {
  readonly code = 'INVALID_ORDER';
  readonly kind = 'invalid';
}
