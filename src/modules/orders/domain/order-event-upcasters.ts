import type { EventUpcaster } from '../../../event-store';
import { OrderPlacedEvent, type OrderStoredEvent } from './order.events';

/** OrderPlaced v1 `{ currency: 'EUR', total: 2500, … }` becomes v2 `{ total: { amount: 2500, currency: 'EUR' }, … }`. */
export const orderPlacedV1ToV2: EventUpcaster<typeof OrderPlacedEvent.type> = {
  eventType: OrderPlacedEvent.type,
  fromVersion: 1,
  upcast: ({ currency, total, ...rest }) => ({ ...rest, total: { amount: total, currency } }),
};

export const ORDER_EVENT_UPCASTERS: readonly EventUpcaster<OrderStoredEvent['eventType']>[] = [orderPlacedV1ToV2];
