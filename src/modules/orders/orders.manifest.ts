import { ORDER_EVENTS_SOURCE } from '../../contracts';
import type { EventStoreManifest } from '../../event-store';
import { ORDER_EVENT_UPCASTERS } from './domain/order-event-upcasters';
import { ORDER_EVENT_CLASSES, ORDER_STREAM_TYPE, type OrderStoredEvent } from './domain/order.events';
import { ORDER_PUBLICATION } from './integration/order-integration-events';
import { orderSummariesProjection } from './projections/order-summaries.projection';

/** Everything the event store knows about the Orders module's events (listed in src/modules/manifests.ts). */
export const ORDERS_EVENT_STORE_MANIFEST: EventStoreManifest<OrderStoredEvent> = {
  streamType: ORDER_STREAM_TYPE,
  eventClasses: ORDER_EVENT_CLASSES,
  upcasters: ORDER_EVENT_UPCASTERS,
  publication: { source: ORDER_EVENTS_SOURCE, events: ORDER_PUBLICATION },
  projections: [orderSummariesProjection],
};
