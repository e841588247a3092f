import type { EventUpcaster } from '../../../event-store';
import { OrderPlacedEvent, type OrderStoredEvent } from './order.events';

/** OrderPlaced v1 `{ currency: 'EUR', total: 2500, … }` becomes v2 `{ total: { amount: 2500, currency: 'EUR' }, … }`. */
export const orderPlacedV1ToV2: EventUpcaster<typeof OrderPlacedEvent.type> = {
  eventType: OrderPlacedEvent.type,
  fromVersion: 1,
  upcast: ({ currency, total, ...rest }) => ({ ...rest, total: { amount: total, currency } }),
};

/**
 * OrderConfirmed, OrderCancelled and OrderShipped v1 (`total` a bare number) have no upcaster: the
 * currency their v2 Money needs is in their order's OrderPlaced, which an upcaster, seeing one
 * event, cannot read. Migration OrderTotalsAsMoney1765300000000 rewrote every stored v1 row to v2
 * instead (a copy-transform of the store), and a CHECK constraint refuses new v1 rows. A v1 row
 * read anyway is refused by EventUpcasters (UnreadableEventVersionError), never passed on.
 */
export const ORDER_TOTALS_AS_MONEY = ['OrderConfirmed', 'OrderCancelled', 'OrderShipped'] as const satisfies ReadonlyArray<OrderStoredEvent['eventType']>;

export const ORDER_EVENT_UPCASTERS: readonly EventUpcaster<OrderStoredEvent['eventType']>[] = [orderPlacedV1ToV2];
