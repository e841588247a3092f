import { OrderCancelledV1, OrderConfirmedV1, OrderPlacedV1, OrderRejectedV1, OrderShippedV1 } from '../../../contracts';
import type { MappedIntegrationEvent } from '../../../event-store';
import {
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
  type OrderStoredEvent,
} from '../domain/order.events';

/** The one place where the Orders module's domain events become its published contracts (every one has one). */
export function toOrderIntegrationEvent(event: OrderStoredEvent): MappedIntegrationEvent {
  switch (event.eventType) {
    case OrderPlacedEvent.type: {
      const e = event.payload;
      const data: OrderPlacedV1 = {
        orderId: e.orderId,
        customerId: e.customerId,
        // The published contract keeps its v1 shape: the domain event's change is internal.
        currency: e.total.currency,
        total: e.total.amount,
        lines: e.lines.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice })),
        placedAt: e.placedAt,
      };
      return { type: OrderPlacedV1.type, data };
    }
    case OrderConfirmedEvent.type: {
      const e = event.payload;
      const data: OrderConfirmedV1 = { orderId: e.orderId, customerId: e.customerId, total: e.total, confirmedAt: e.confirmedAt };
      return { type: OrderConfirmedV1.type, data };
    }
    case OrderRejectedEvent.type: {
      const e = event.payload;
      const data: OrderRejectedV1 = { orderId: e.orderId, customerId: e.customerId, reason: e.reason, rejectedAt: e.rejectedAt };
      return { type: OrderRejectedV1.type, data };
    }
    case OrderCancelledEvent.type: {
      const e = event.payload;
      const data: OrderCancelledV1 = {
        orderId: e.orderId,
        customerId: e.customerId,
        reason: e.reason,
        total: e.total,
        wasConfirmed: e.previousStatus === 'CONFIRMED',
        cancelledAt: e.cancelledAt,
      };
      return { type: OrderCancelledV1.type, data };
    }
    case OrderShippedEvent.type: {
      const e = event.payload;
      const data: OrderShippedV1 = { orderId: e.orderId, customerId: e.customerId, total: e.total, shippedAt: e.shippedAt };
      return { type: OrderShippedV1.type, data };
    }
  }
}
