import type { EntityManager } from 'typeorm';
import type { StoredEvent } from '../stored-event';

/** What a module declares about one of its read models so that it can be rebuilt from the store. */
export interface RebuildableProjection {
  /** The name operators type, e.g. `order-summaries`. */
  readonly name: string;
  /** The live projector's checkpoint in `subscription_checkpoints`. */
  readonly subscriptionId: string;
  /** The live read-model table, which queries read. */
  readonly table: string;
  /** Folds a batch of events into `table`, exactly as the live projector does into its own. */
  project(events: StoredEvent[], db: EntityManager, table: string): Promise<void>;
}
