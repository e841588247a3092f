import { SetMetadata } from '@nestjs/common';
import type { IntegrationEventContract } from '../../contracts';
import type { DomainEventClass } from '../domain-event';

export const DURABLE_REACTION_METADATA = 'eda:durable-reaction';

export interface DurableReactionOptions {
  /**
   * The reaction's subscription id, stored with its checkpoint and its receipts
   * (`reaction:<id>`). Never derived from a class or member name: renaming code must not make a
   * reaction forget what it already did and replay history. Change it only to start over.
   */
  id: string;
  /**
   * What the reaction reads, each class either:
   * - a domain event class of the reaction's own module (its manifest's `eventClasses`), read as stored;
   * - or another module's published contract (src/contracts, e.g. `OrderPlacedV1`), read as that
   *   module's publication table makes it, exactly what the relay sends to the broker: modules
   *   speak to each other only in their published language.
   * The store is filtered by the stored types in SQL. Required for a class of `@Saga()` members
   * (RxJS pipelines cannot be asked what they filter); an `@EventsHandler` class defaults to the
   * events its decorator names. A class that is neither is refused at start.
   */
  events?: Array<DomainEventClass | IntegrationEventContract>;
  /**
   * A reaction added to a running system starts at the head of the store: it reacts to what
   * happens from now on. `true` makes a new reaction work through all history first (every
   * step must then be harmless on old events).
   */
  replaysHistory?: boolean;
  /**
   * The key of the events this reaction must take one at a time, in commit order. Events of
   * different keys are taken concurrently (REACTION_CONCURRENCY at once), as Commanded's
   * `partition_by` does for its event handlers. Default: the event's stream, which is right when
   * a step acts only on the aggregate that raised the event or on ones no other key touches.
   * When steps act on an aggregate shared by several streams (the saga reserves the customer's
   * credit for each of their orders), key by that aggregate: one customer's events in order.
   */
  partitionBy?: (event: object) => string;
}

/**
 * Marks a provider whose `@Saga()` members or `@EventsHandler()` handle method are delivered
 * durably from the event store (see DurableReactions), as ONE subscription with an explicit,
 * stable id:
 *
 *   @DurableReaction({ id: 'order-fulfilment', events: [CreditReservedV1, CreditRejectedV1] })
 *   export class OrderFulfilmentSaga { @Saga() confirmOrderWhenCreditReserved = … }
 *
 * A saga or event handler without it is refused at start.
 */
export const DurableReaction = (options: DurableReactionOptions): ClassDecorator => SetMetadata(DURABLE_REACTION_METADATA, options);
