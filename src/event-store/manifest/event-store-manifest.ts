import type { DomainEventClass } from '../domain-event';
import type { StoredEvent } from '../stored-event';
import type { EventUpcaster } from '../upcasting/event-upcasters';
import type { ProjectionDefinition } from './projection-definition';

/** A domain event turned into an integration event: its contract's type and its data. */
export interface MappedIntegrationEvent {
  type: string;
  data: object;
}

/** How a module publishes the events of its streams. */
export interface StreamPublication<E extends StoredEvent = StoredEvent> {
  /** The CloudEvents `source` of every event of such a stream (`/eda/orders`): with `subject`, what `sequence` is scoped by. */
  readonly source: string;
  /** The event's published contract, or undefined when it has none. */
  toIntegrationEvent(event: E): MappedIntegrationEvent | undefined;
}

/**
 * Everything the event store must know about one module's events, declared once by the module
 * (its `index.ts` exports it) and read by the app and every CLI from src/modules/manifests.ts.
 * `E` is the module's stored-event union, `StoredEventOf<(typeof EVENT_CLASSES)[number]>`: its
 * mapper and projections switch on `event.eventType` and get typed payloads.
 */
export interface EventStoreManifest<E extends StoredEvent = StoredEvent> {
  /** `stream_type` of the module's aggregates' streams, e.g. `Order`. */
  readonly streamType: string;
  /** Every event class its streams hold: how stored events become instances for sagas and handlers. */
  readonly eventClasses: readonly DomainEventClass<E['eventType']>[];
  /** How older schema versions of its events are read as the current one. */
  readonly upcasters: readonly EventUpcaster<E['eventType']>[];
  /** How its events become its published integration-event contracts; absent when it publishes none. */
  readonly publication?: StreamPublication<E>;
  /** The read models kept from its events. */
  readonly projections: readonly ProjectionDefinition<E>[];
}
