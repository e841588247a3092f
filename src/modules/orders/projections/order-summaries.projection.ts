import type { EntityManager } from 'typeorm';
import type { ProjectionDefinition } from '../../../event-store';
import type { OrderStatus } from '../domain/order';
import {
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
  type OrderStoredEvent,
} from '../domain/order.events';

interface StatusChange {
  orderId: string;
  status: OrderStatus;
  version: number;
  at: string;
  rejectionReason: string | null;
}

type OrderPlaced = Extract<OrderStoredEvent, { eventType: typeof OrderPlacedEvent.type }>;

/**
 * Keeps `order_summaries` up to date with two statements per batch: every placed order in one
 * INSERT, and each order's latest status change in one UPDATE. A row remembers the stream version
 * it reflects and only moves forward, so applying events twice changes nothing. Needs nothing
 * injected, so a rebuild runs it outside the app, into a fresh table.
 */
export const orderSummariesProjection: ProjectionDefinition<OrderStoredEvent> = {
  name: 'order-summaries',
  subscriptionId: 'projection:order-summaries',
  table: 'order_summaries',
  canHandle: [OrderPlacedEvent.type, OrderConfirmedEvent.type, OrderRejectedEvent.type, OrderCancelledEvent.type, OrderShippedEvent.type],
  apply: applyToOrderSummaries,
};

async function applyToOrderSummaries(events: OrderStoredEvent[], db: EntityManager, table: string): Promise<void> {
  const placed: Array<{ event: OrderPlaced['payload']; version: number }> = [];
  const latestChange = new Map<string, StatusChange>();
  for (const event of events) {
    if (event.eventType === OrderPlacedEvent.type) placed.push({ event: event.payload, version: event.streamVersion });
    const change = statusChangeOf(event);
    if (change && (latestChange.get(change.orderId)?.version ?? 0) < change.version) latestChange.set(change.orderId, change);
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

function statusChangeOf({ eventType, payload: e, streamVersion: version }: OrderStoredEvent): StatusChange | undefined {
  switch (eventType) {
    case OrderPlacedEvent.type:
      return undefined;
    case OrderConfirmedEvent.type:
      return { orderId: e.orderId, status: 'CONFIRMED', version, at: e.confirmedAt, rejectionReason: null };
    case OrderRejectedEvent.type:
      return { orderId: e.orderId, status: 'REJECTED', version, at: e.rejectedAt, rejectionReason: e.reason };
    case OrderCancelledEvent.type:
      return { orderId: e.orderId, status: 'CANCELLED', version, at: e.cancelledAt, rejectionReason: null };
    case OrderShippedEvent.type:
      return { orderId: e.orderId, status: 'SHIPPED', version, at: e.shippedAt, rejectionReason: null };
  }
}
