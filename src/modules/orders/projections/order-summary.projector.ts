import { Injectable, OnModuleInit } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { StoredEvent } from '../../../event-store/stored-event';
import { EventSubscriptions } from '../../../event-store/subscription/event-subscriptions';
import type { OrderStatus } from '../domain/order';
import {
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
} from '../domain/order.events';

interface StatusChange {
  orderId: string;
  status: OrderStatus;
  version: number;
  at: string;
  rejectionReason: string | null;
}

/**
 * Keeps `order_summaries` up to date with two statements per batch: every placed order in one
 * INSERT, and each order's latest status change in one UPDATE. A row remembers the stream version
 * it reflects and only moves forward, so applying events twice changes nothing.
 */
@Injectable()
export class OrderSummaryProjector implements OnModuleInit {
  static readonly subscriptionName = 'projection:order-summaries';
  static readonly table = 'order_summaries';

  constructor(private readonly subscriptions: EventSubscriptions) {}

  onModuleInit(): void {
    this.subscriptions.register(OrderSummaryProjector.subscriptionName, (events, transaction) =>
      OrderSummaryProjector.project(events, transaction),
    );
  }

  /** Needs nothing injected, so a rebuild runs it outside the app, into a fresh `table`. */
  static async project(events: StoredEvent[], db: EntityManager, table = OrderSummaryProjector.table): Promise<void> {
    const placed: Array<{ event: OrderPlacedEvent; version: number }> = [];
    const latestChange = new Map<string, StatusChange>();
    for (const { eventType, payload, streamVersion: version } of events) {
      if (eventType === OrderPlacedEvent.type) placed.push({ event: payload as unknown as OrderPlacedEvent, version });
      const change = statusChangeOf(eventType, payload, version);
      if (change && (latestChange.get(change.orderId)?.version ?? 0) < version) latestChange.set(change.orderId, change);
    }

    if (placed.length > 0) {
      await db.query(
        `INSERT INTO ${table} (id, customer_id, status, currency, lines, total, version, created_at, updated_at)
         SELECT p.id, p.customer_id, 'PENDING', p.currency, p.lines::jsonb, p.total, p.version, p.placed_at, p.placed_at
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::timestamptz[])
           AS p(id, customer_id, currency, lines, total, version, placed_at)
         ON CONFLICT (id) DO NOTHING`,
        [
          placed.map((p) => p.event.orderId),
          placed.map((p) => p.event.customerId),
          placed.map((p) => p.event.total.currency),
          placed.map((p) => JSON.stringify(p.event.lines)),
          placed.map((p) => p.event.total.amount),
          placed.map((p) => p.version),
          placed.map((p) => p.event.placedAt),
        ],
      );
    }

    const changes = [...latestChange.values()];
    if (changes.length > 0) {
      await db.query(
        `UPDATE ${table} AS o
         SET status = c.status, version = c.version, updated_at = c.at,
             rejection_reason = COALESCE(c.rejection_reason, o.rejection_reason)
         FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::text[])
           AS c(id, status, version, at, rejection_reason)
         WHERE o.id = c.id AND o.version < c.version`,
        [
          changes.map((c) => c.orderId),
          changes.map((c) => c.status),
          changes.map((c) => c.version),
          changes.map((c) => c.at),
          changes.map((c) => c.rejectionReason),
        ],
      );
    }
  }
}

function statusChangeOf(eventType: string, payload: Record<string, unknown>, version: number): StatusChange | undefined {
  switch (eventType) {
    case OrderConfirmedEvent.type: {
      const e = payload as unknown as OrderConfirmedEvent;
      return { orderId: e.orderId, status: 'CONFIRMED', version, at: e.confirmedAt, rejectionReason: null };
    }
    case OrderRejectedEvent.type: {
      const e = payload as unknown as OrderRejectedEvent;
      return { orderId: e.orderId, status: 'REJECTED', version, at: e.rejectedAt, rejectionReason: e.reason };
    }
    case OrderCancelledEvent.type: {
      const e = payload as unknown as OrderCancelledEvent;
      return { orderId: e.orderId, status: 'CANCELLED', version, at: e.cancelledAt, rejectionReason: null };
    }
    case OrderShippedEvent.type: {
      const e = payload as unknown as OrderShippedEvent;
      return { orderId: e.orderId, status: 'SHIPPED', version, at: e.shippedAt, rejectionReason: null };
    }
    default:
      return undefined;
  }
}
