import type { StoredEvent } from '../stored-event';

/** The effect of one step on one event; it runs inside the step's transaction (TransactionContext). */
export type ReactionWork = () => Promise<void>;

/**
 * One thing a reaction does about an event: a `@Saga()` member, or an event handler's `handle`.
 * `plan` decides on committed state, before the transaction; the work it returns makes the
 * change inside it. Undefined: nothing to do for this event.
 */
export interface ReactionStep {
  /** Stable within the reaction: receipts and parked rows name it. */
  readonly name: string;
  plan(event: object): Promise<ReactionWork | undefined>;
}

/** A `@DurableReaction` class as its subscription sees it. */
export interface Reaction {
  /** `reaction:<id given in code>`: the checkpoint's and the receipts' key. */
  readonly subscriptionId: string;
  /** For logs only. */
  readonly className: string;
  /** The stored types it reads (filtered in SQL). */
  readonly eventTypes: readonly string[];
  /**
   * A stored event of those types as the message its steps receive: an instance of the domain
   * event class or of the published contract the reaction declared, with its origin recorded
   * (originOf); undefined when it is neither.
   */
  decode(stored: StoredEvent): object | undefined;
  readonly replaysHistory: boolean;
  readonly steps: readonly ReactionStep[];
  /** Events of one key are taken in commit order, one at a time; undefined: by stream. */
  readonly partitionBy?: (event: object) => string;
}
