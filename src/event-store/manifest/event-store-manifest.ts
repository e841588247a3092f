import type { IntegrationEventContract } from '../../contracts';
import type { DomainEventClass } from '../domain-event';
import type { StoredEvent } from '../stored-event';
import type { EventUpcaster } from '../upcasting/event-upcasters';
import type { ProjectionDefinition } from './projection-definition';

/** A domain event turned into an integration event: its contract's type and its data. */
export interface MappedIntegrationEvent {
  type: string;
  data: object;
}

/** How one stored event type is published: as `contract`, with the data `toData` makes of its (upcast) payload. */
export interface PublishedAs<TPayload = never> {
  readonly contract: IntegrationEventContract;
  toData(payload: TPayload): object;
}

/**
 * One entry of a module's publication table, typed both ways: `toData` gets the stored event's
 * payload and must return the contract's shape.
 *
 *   [OrderShippedEvent.type]: publishedAs(OrderShippedV1, (e) => ({ orderId: e.orderId, … })),
 */
export function publishedAs<TPayload, TData extends object>(contract: IntegrationEventContract<TData>, toData: (payload: TPayload) => TData): PublishedAs<TPayload> {
  return { contract, toData };
}

/** Each published stored type of a module and its contract (a stored type missing here is not published). */
export type PublicationTable<E extends StoredEvent> = {
  readonly [T in E['eventType']]?: PublishedAs<Extract<E, { eventType: T }>['payload']>;
};

/** How a module publishes the events of its streams. */
export interface StreamPublication<E extends StoredEvent = StoredEvent> {
  /** The CloudEvents `source` of every event of such a stream (`/eda/orders`): with `subject`, what `sequence` is scoped by. */
  readonly source: string;
  /**
   * The contract of each published stored type: what the relay sends to the broker and what
   * other modules' reactions read in process (`@DurableReaction({ events: [OrderPlacedV1] })`),
   * so a module speaks one published language to both.
   */
  readonly events: PublicationTable<E>;
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
