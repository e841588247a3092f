import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { OrderCancelledV1, OrderConfirmedV1, OrderPlacedV1, UserRegisteredV1 } from '../../../contracts';
import type { ReceivedEvent } from '../../inbox/received-event';
import { InboxReadModel, type ReadModel } from '../read-model';

interface StatsDelta {
  customerId: string;
  placed: number;
  confirmed: number;
  cancelled: number;
  spent: number;
}

function deltaFor({ type, data }: ReceivedEvent): StatsDelta | undefined {
  const zero = { placed: 0, confirmed: 0, cancelled: 0, spent: 0 };
  switch (type) {
    case UserRegisteredV1.type:
      return { ...zero, customerId: (data as UserRegisteredV1).userId };
    case OrderPlacedV1.type:
      return { ...zero, customerId: (data as OrderPlacedV1).customerId, placed: 1 };
    case OrderConfirmedV1.type: {
      const e = data as OrderConfirmedV1;
      return { ...zero, customerId: e.customerId, confirmed: 1, spent: e.total };
    }
    case OrderCancelledV1.type: {
      const e = data as OrderCancelledV1;
      return { ...zero, customerId: e.customerId, cancelled: 1, spent: e.wasConfirmed ? -e.total : 0 };
    }
    default:
      return undefined;
  }
}

/** Whether an integration event of `type` changes the customer stats (the types deltaFor counts). */
export function countsInCustomerStats(type: string): boolean {
  return [UserRegisteredV1.type, OrderPlacedV1.type, OrderConfirmedV1.type, OrderCancelledV1.type].includes(type);
}

/**
 * Per customer: orders placed, confirmed, cancelled, and total spent (confirmed orders, less
 * those cancelled afterwards). Counters are increments, so the inbox must keep them exactly-once.
 */
@InboxReadModel()
@Injectable()
export class CustomerStatsProjection implements ReadModel {
  /**
   * Adds the deltas of `events` in one statement: summed per customer first (one statement may
   * touch a row only once), and upserted in customer id order, so that two consumer processes
   * lock the rows of the customers they share in the same order and cannot deadlock.
   */
  async apply(events: readonly ReceivedEvent[], db: EntityManager): Promise<void> {
    const deltas = events.flatMap((event) => {
      const delta = deltaFor(event);
      return delta ? [{ ...delta, time: event.time }] : [];
    });
    if (deltas.length === 0) return;
    await db.query(
      `INSERT INTO customer_stats (customer_id, orders_placed, orders_confirmed, orders_cancelled, total_spent, updated_at)
       SELECT customer_id, sum(placed), sum(confirmed), sum(cancelled), sum(spent), max(at)
       FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::bigint[], $6::timestamptz[])
         AS delta(customer_id, placed, confirmed, cancelled, spent, at)
       GROUP BY customer_id
       ORDER BY customer_id
       ON CONFLICT (customer_id) DO UPDATE SET
         orders_placed = customer_stats.orders_placed + EXCLUDED.orders_placed,
         orders_confirmed = customer_stats.orders_confirmed + EXCLUDED.orders_confirmed,
         orders_cancelled = customer_stats.orders_cancelled + EXCLUDED.orders_cancelled,
         total_spent = customer_stats.total_spent + EXCLUDED.total_spent,
         updated_at = GREATEST(customer_stats.updated_at, EXCLUDED.updated_at)`,
      [
        deltas.map((delta) => delta.customerId),
        deltas.map((delta) => delta.placed),
        deltas.map((delta) => delta.confirmed),
        deltas.map((delta) => delta.cancelled),
        deltas.map((delta) => delta.spent),
        deltas.map((delta) => delta.time),
      ],
    );
  }
}
