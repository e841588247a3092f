import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { StoredEvent } from '../../../event-store/stored-event';
import { EventSubscriptions } from '../../../event-store/subscription/event-subscriptions';
import {
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
} from '../domain/order.events';

/**
 * Keeps `order_summaries` up to date. Each row remembers the stream version it reflects, and an
 * event at or below it is ignored, so applying an event twice changes nothing.
 */
@Injectable()
export class OrderSummaryProjector implements OnModuleInit {
  static readonly subscriptionName = 'projection:order-summaries';

  constructor(private readonly subscriptions: EventSubscriptions) {}

  onModuleInit(): void {
    this.subscriptions.register(OrderSummaryProjector.subscriptionName, (events, transaction) =>
      this.project(events, transaction),
    );
  }

  async project(events: StoredEvent[], transaction: EntityManager): Promise<void> {
    for (const event of events) await this.apply(event, transaction);
  }

  private async apply({ eventType, payload, streamVersion }: StoredEvent, db: EntityManager): Promise<void> {
    switch (eventType) {
      case OrderPlacedEvent.type: {
        const e = payload as unknown as OrderPlacedEvent;
        await db.query(
          `INSERT INTO order_summaries (id, customer_id, status, currency, lines, total, version, created_at, updated_at)
           VALUES ($1, $2, 'PENDING', $3, $4::jsonb, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING`,
          [e.orderId, e.customerId, e.currency, JSON.stringify(e.lines), e.total, streamVersion, e.placedAt],
        );
        return;
      }
      case OrderConfirmedEvent.type: {
        const e = payload as unknown as OrderConfirmedEvent;
        return this.changeStatus(db, e.orderId, 'CONFIRMED', streamVersion, e.confirmedAt);
      }
      case OrderRejectedEvent.type: {
        const e = payload as unknown as OrderRejectedEvent;
        return this.changeStatus(db, e.orderId, 'REJECTED', streamVersion, e.rejectedAt, e.reason);
      }
      case OrderCancelledEvent.type: {
        const e = payload as unknown as OrderCancelledEvent;
        return this.changeStatus(db, e.orderId, 'CANCELLED', streamVersion, e.cancelledAt);
      }
      case OrderShippedEvent.type: {
        const e = payload as unknown as OrderShippedEvent;
        return this.changeStatus(db, e.orderId, 'SHIPPED', streamVersion, e.shippedAt);
      }
    }
  }

  private async changeStatus(
    db: EntityManager,
    orderId: string,
    status: string,
    version: number,
    at: string,
    rejectionReason: string | null = null,
  ): Promise<void> {
    await db.query(
      `UPDATE order_summaries
       SET status = $2, version = $3, updated_at = $4, rejection_reason = COALESCE($5, rejection_reason)
       WHERE id = $1 AND version < $3`,
      [orderId, status, version, at, rejectionReason],
    );
  }
}
