import { OrderCancelledV1, OrderConfirmedV1, OrderCreditDeclinedV1, OrderPlacedV1, OrderRejectedV1, OrderShippedV1 } from '../../../contracts';
import { type PublicationTable, publishedAs } from '../../../event-store';
import { OrderCancelledEvent, OrderConfirmedEvent, OrderCreditDeclinedEvent, OrderPlacedEvent, OrderRejectedEvent, OrderShippedEvent, type OrderStoredEvent } from '../domain/order.events';

/**
 * The Orders module's published language: the one place where its domain events become its
 * contracts (every one has one), read by the relay for the broker and by other modules'
 * reactions in process.
 */
export const ORDER_PUBLICATION: PublicationTable<OrderStoredEvent> = {
  [OrderPlacedEvent.type]: publishedAs(OrderPlacedV1, (e) => ({
    orderId: e.orderId,
    customerId: e.customerId,
    // The published contract keeps its v1 shape: the domain event's change is internal.
    currency: e.total.currency,
    total: e.total.amount,
    lines: e.lines.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice })),
    placedAt: e.placedAt,
  })),
  [OrderConfirmedEvent.type]: publishedAs(OrderConfirmedV1, (e) => ({
    orderId: e.orderId,
    customerId: e.customerId,
    // The contracts keep their v1 shape (total in minor units): the order's currency is in OrderPlacedV1.
    total: e.total.amount,
    confirmedAt: e.confirmedAt,
  })),
  [OrderRejectedEvent.type]: publishedAs(OrderRejectedV1, (e) => ({
    orderId: e.orderId,
    customerId: e.customerId,
    reason: e.reason,
    rejectedAt: e.rejectedAt,
  })),
  [OrderCancelledEvent.type]: publishedAs(OrderCancelledV1, (e) => ({
    orderId: e.orderId,
    customerId: e.customerId,
    reason: e.reason,
    total: e.total.amount,
    wasConfirmed: e.previousStatus === 'CONFIRMED',
    cancelledAt: e.cancelledAt,
  })),
  [OrderShippedEvent.type]: publishedAs(OrderShippedV1, (e) => ({
    orderId: e.orderId,
    customerId: e.customerId,
    total: e.total.amount,
    shippedAt: e.shippedAt,
  })),
  [OrderCreditDeclinedEvent.type]: publishedAs(OrderCreditDeclinedV1, (e) => ({
    orderId: e.orderId,
    customerId: e.customerId,
    declinedAt: e.declinedAt,
  })),
};
