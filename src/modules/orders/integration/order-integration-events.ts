import { Injectable, OnModuleInit } from '@nestjs/common';
import { ORDER_EVENTS_SOURCE, OrderCancelledV1, OrderConfirmedV1, OrderPlacedV1, OrderRejectedV1, OrderShippedV1 } from '../../../contracts';
import type { StoredEvent } from '../../../event-store/stored-event';
import { IntegrationEventMappers, MappedIntegrationEvent, type StreamPublication } from '../../../messaging/integration-event-mappers';
import {
  ORDER_STREAM_TYPE,
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
} from '../domain/order.events';

/** The one place where the Orders module's domain events become its published contracts. */
export function toOrderIntegrationEvent({ eventType, payload }: StoredEvent): MappedIntegrationEvent | undefined {
  switch (eventType) {
    case OrderPlacedEvent.type: {
      const e = payload as unknown as OrderPlacedEvent;
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
      const e = payload as unknown as OrderConfirmedEvent;
      const data: OrderConfirmedV1 = { orderId: e.orderId, customerId: e.customerId, total: e.total, confirmedAt: e.confirmedAt };
      return { type: OrderConfirmedV1.type, data };
    }
    case OrderRejectedEvent.type: {
      const e = payload as unknown as OrderRejectedEvent;
      const data: OrderRejectedV1 = { orderId: e.orderId, customerId: e.customerId, reason: e.reason, rejectedAt: e.rejectedAt };
      return { type: OrderRejectedV1.type, data };
    }
    case OrderCancelledEvent.type: {
      const e = payload as unknown as OrderCancelledEvent;
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
      const e = payload as unknown as OrderShippedEvent;
      const data: OrderShippedV1 = { orderId: e.orderId, customerId: e.customerId, total: e.total, shippedAt: e.shippedAt };
      return { type: OrderShippedV1.type, data };
    }
    default:
      return undefined;
  }
}

/** How the Orders module publishes its streams: source ORDER_EVENTS_SOURCE, each event as toOrderIntegrationEvent maps it. */
export const ORDER_STREAM_PUBLICATION: StreamPublication = { streamType: ORDER_STREAM_TYPE, source: ORDER_EVENTS_SOURCE, map: toOrderIntegrationEvent };

@Injectable()
export class OrderIntegrationEvents implements OnModuleInit {
  constructor(private readonly mappers: IntegrationEventMappers) {}

  onModuleInit(): void {
    this.mappers.register(ORDER_STREAM_PUBLICATION);
  }
}
