import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  OrderCancelledV1,
  OrderConfirmedV1,
  OrderRejectedV1,
  OrderShippedV1,
  UserRegisteredV1,
} from '../../../contracts';
import type { ReceivedEvent } from '../../inbox/received-event';
import { InboxReadModel, type ReadModel } from '../read-model';

interface Notice {
  customerId: string;
  kind: string;
  message: string;
}

function noticeFor({ type, data }: ReceivedEvent): Notice | undefined {
  switch (type) {
    case UserRegisteredV1.type: {
      const e = data as UserRegisteredV1;
      return { customerId: e.userId, kind: 'WELCOME', message: `Welcome, ${e.name}!` };
    }
    case OrderConfirmedV1.type: {
      const e = data as OrderConfirmedV1;
      return { customerId: e.customerId, kind: 'ORDER_CONFIRMED', message: `Your order ${e.orderId} is confirmed.` };
    }
    case OrderRejectedV1.type: {
      const e = data as OrderRejectedV1;
      return { customerId: e.customerId, kind: 'ORDER_REJECTED', message: `Your order ${e.orderId} was rejected: ${e.reason}.` };
    }
    case OrderShippedV1.type: {
      const e = data as OrderShippedV1;
      return { customerId: e.customerId, kind: 'ORDER_SHIPPED', message: `Your order ${e.orderId} is on its way.` };
    }
    case OrderCancelledV1.type: {
      const e = data as OrderCancelledV1;
      return { customerId: e.customerId, kind: 'ORDER_CANCELLED', message: `Your order ${e.orderId} was cancelled.` };
    }
    default:
      return undefined;
  }
}

/** One notice per event, never two: the event id is unique in `notifications`. */
@InboxReadModel()
@Injectable()
export class NotificationsProjection implements ReadModel {
  /** Inserts the notices of `events` (those of other types have none) in one statement. */
  async apply(events: readonly ReceivedEvent[], db: EntityManager): Promise<void> {
    const noticed = events.flatMap((event) => {
      const notice = noticeFor(event);
      return notice ? [{ event, notice }] : [];
    });
    if (noticed.length === 0) return;
    await db.query(
      `INSERT INTO notifications (event_id, customer_id, kind, message, created_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
       ON CONFLICT (event_id) DO NOTHING`,
      [
        noticed.map(({ event }) => event.eventId),
        noticed.map(({ notice }) => notice.customerId),
        noticed.map(({ notice }) => notice.kind),
        noticed.map(({ notice }) => notice.message),
        noticed.map(({ event }) => event.time),
      ],
    );
  }
}
