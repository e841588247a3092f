import type { EntityManager } from 'typeorm';
import type { StoredEvent } from '../stored-event';
import type { EventUpcasters } from '../upcasting/event-upcasters';

/**
 * One read model kept from the store, declared once: what the live subscription runs, what
 * `npm run rebuild-projections` and `POST /admin/projections/{name}/rebuilds` replay, and what
 * the store filler leaves at the head. `E` is its module's stored-event union (StoredEventOf).
 */
export interface ProjectionDefinition<E extends StoredEvent = StoredEvent> {
  /** The name operators type, e.g. `order-summaries`. */
  readonly name: string;
  /** The live projector's checkpoint in `subscription_checkpoints`, e.g. `projection:order-summaries`. */
  readonly subscriptionId: string;
  /** The live read-model table, which queries read. */
  readonly table: string;
  /** The event types it applies; every other event is left out of the batches `apply` gets. */
  readonly canHandle: readonly E['eventType'][];
  /**
   * Folds a batch of upcast events (in commit order, only types it handles) into `table`: the
   * live one, or a rebuild's fresh copy. Applying an event twice changes nothing; a recorded fact
   * never makes it throw.
   */
  apply(events: E[], db: EntityManager, table: string): Promise<void>;
}

/**
 * Applies a batch of the store's events to `projection`: the one place where untyped stored
 * events become the projection's own, by the event types it declares it handles, upcast through
 * `upcasters` when given (the live projector and rebuilds). Only those are upcast: an event of a
 * version the code cannot read (UnreadableEventVersionError) stops the projections that handle
 * its type, never the others.
 */
export function applyProjection(
  projection: ProjectionDefinition,
  events: readonly StoredEvent[],
  db: EntityManager,
  table = projection.table,
  upcasters?: EventUpcasters,
): Promise<void> {
  const handled = new Set(projection.canHandle);
  const own = events.filter((event) => handled.has(event.eventType));
  return projection.apply(upcasters ? upcasters.upcastAll(own) : own, db, table);
}
