import { Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { EventAppendedSignal } from '../event-appended-signal';
import { CheckpointTracker } from '../sequencing/event-store-head';
import type { EventSequencer } from '../sequencing/event-sequencer';
import { Signal } from '../sequencing/signal';
import type { EventUpcasters } from '../upcasting/event-upcasters';
import { SequencedEvent, STORED_EVENT_COLUMNS } from '../stored-event';
import { ensureCheckpoint, loadCheckpoint, sequencedEventsAfter } from './committed-events';
import { describeError, recordFailure } from './subscription-failures';

/**
 * What a handler made of a batch when it could not take all of it: the checkpoint advances past
 * the first `handled` events only, and the rest is read again after `retryAfterMs`.
 */
export interface BatchOutcome {
  handled: number;
  retryAfterMs?: number;
  /** The handler appended events, so other subscriptions are woken at commit. */
  appended?: boolean;
}

/** Applies a batch inside the transaction that also advances the checkpoint. */
export type EventBatchHandler = (events: SequencedEvent[], transaction: EntityManager) => Promise<void | BatchOutcome>;

export interface SubscriptionOptions {
  batchSize: number;
  /** How long a woken subscription waits for more events before reading a batch. */
  gatherMs: number;
  maxRetryDelayMs?: number;
}

/** How long an idle subscription sleeps between looks at the in-memory head (no query). */
const IDLE_RECHECK_MS = 60_000;

/**
 * Delivers every committed event of the store, in commit order, exactly once per successful
 * batch, remembering where it stopped in `subscription_checkpoints`.
 *
 * It reads by `global_position`, the commit order the EventSequencer hands out (see there why
 * neither the insert position nor transaction ids will do): `global_position > checkpoint ORDER
 * BY global_position`. No running transaction, in this database or another, holds it back; an
 * append still open delays only itself.
 *
 * The checkpoint row is locked `FOR UPDATE SKIP LOCKED` for the batch, so with several processes
 * only one applies a given subscription's batch at a time; the others skip and try again later.
 * It is locked only when events wait beyond it: a read that finds nothing takes no row lock and
 * so no transaction id. And it reads only when the process's EventStoreHead says the store holds
 * numbers beyond its checkpoint: an idle subscription sends no query at all.
 */
export class CheckpointedSubscription {
  private readonly logger: Logger;
  private readonly tracker: CheckpointTracker;
  private running?: Promise<void>;
  private stopping = false;
  /** Raised by stop(), so that no sleep of the loop delays it. */
  private readonly stopSignal = new Signal();
  private retryAfterMs?: number;
  /** What the last processNextBatch read: after a failure, the batch that failed. */
  private lastRead: SequencedEvent[] = [];
  /**
   * After a batch failed: events are taken one at a time up to its last one, so the subscription
   * applies everything before the broken event and stops exactly at it.
   */
  private isolateThrough?: bigint;
  private retryRequested = false;

  constructor(
    readonly name: string,
    private readonly dataSource: DataSource,
    private readonly handler: EventBatchHandler,
    private readonly sequencer: EventSequencer,
    private readonly appended: EventAppendedSignal,
    private readonly options: SubscriptionOptions,
    private readonly upcasters?: EventUpcasters,
  ) {
    this.logger = new Logger(`Subscription:${name}`);
    this.tracker = new CheckpointTracker(name, sequencer.head);
  }

  /** Creates the checkpoint at the beginning of the store unless it exists already. */
  ensureCheckpoint(): Promise<void> {
    return ensureCheckpoint(this.dataSource, this.name);
  }

  async start(): Promise<void> {
    await this.ensureCheckpoint();
    this.tracker.at((await loadCheckpoint(this.dataSource, this.name)).globalPosition);
    this.stopping = false;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal.raise();
    this.sequencer.head.wake();
    await this.running;
  }

  /** Wakes a subscription that backs off after a failure (an operator's retry); remembered if it is busy. */
  retryNow(): void {
    this.retryRequested = true;
    this.stopSignal.raise();
  }

  /** Processes at most one batch of what is numbered; returns how many events it applied. */
  async processNextBatch(): Promise<number> {
    const headBeforeRead = this.sequencer.head.position;
    this.retryAfterMs = undefined;
    this.lastRead = [];
    let appended = false;
    let appliedUpTo: string | undefined;
    const applied = await this.dataSource.transaction(async (transaction) => {
      // Locks the checkpoint and reads the batch after it in one round trip. No row: either
      // nothing is new, or another process holds this subscription right now.
      const stored: SequencedEvent[] = await transaction.query(
        `WITH checkpoint AS (
           SELECT c.global_position AS after FROM subscription_checkpoints c
           WHERE c.subscription_id = $1 AND EXISTS (SELECT 1 FROM events e WHERE e.global_position > c.global_position)
           FOR UPDATE OF c SKIP LOCKED
         )
         SELECT ${STORED_EVENT_COLUMNS} FROM checkpoint, LATERAL (${sequencedEventsAfter('checkpoint.after', '$2')}) AS events
         ORDER BY events.global_position`,
        [this.name, this.isolateThrough === undefined ? this.options.batchSize : 1],
      );
      this.lastRead = stored;
      if (stored.length === 0) {
        this.tracker.caughtUpTo(headBeforeRead);
        return 0;
      }
      const events = this.upcasters?.upcastAll(stored) ?? stored;

      const outcome = (await this.handler(events, transaction)) ?? { handled: events.length };
      this.retryAfterMs = outcome.retryAfterMs;
      appended = outcome.appended ?? false;
      if (outcome.handled === 0) return 0;

      const last = events[outcome.handled - 1];
      await transaction.query(
        `UPDATE subscription_checkpoints SET global_position = $2::bigint, updated_at = now() WHERE subscription_id = $1`,
        [this.name, last.globalPosition],
      );
      appliedUpTo = last.globalPosition;
      return outcome.handled;
    });
    if (appliedUpTo !== undefined) {
      this.tracker.at(appliedUpTo);
      if (this.isolateThrough !== undefined && BigInt(appliedUpTo) >= this.isolateThrough) this.isolateThrough = undefined;
    }
    if (appended) this.appended.raise();
    return applied;
  }

  /**
   * Numbers what is committed, then processes batches until none is left; used by tests and by
   * rebuilds, which must not wait for the sequencer's next turn.
   */
  async catchUp(): Promise<number> {
    await this.sequencer.sequencePending();
    let total = 0;
    for (;;) {
      const applied = await this.processNextBatch();
      total += applied;
      if (applied === 0) return total;
    }
  }

  private async run(): Promise<void> {
    let consecutiveFailures = 0;
    while (!this.stopping) {
      try {
        if (!this.tracker.behind()) {
          await this.tracker.waitUntilBehind(() => this.stopping, IDLE_RECHECK_MS);
          // Let the numbers of the next few milliseconds join this batch instead of paying a
          // transaction each: under load that is most of a projection's cost.
          if (this.options.gatherMs > 0 && !this.stopping) await this.pause(this.options.gatherMs);
          continue;
        }
        const applied = await this.processNextBatch();
        consecutiveFailures = 0;
        // The handler asked to see the rest of the batch again later (a failing reaction).
        if (this.retryAfterMs !== undefined) await this.pause(this.retryAfterMs);
        // Caught up with what was numbered: under load more is numbered every moment, and a batch
        // per number would cost a transaction each. Let it gather.
        else if (applied < this.options.batchSize && this.options.gatherMs > 0 && this.isolateThrough === undefined) await this.pause(this.options.gatherMs);
      } catch (error) {
        if (this.stopping) break;
        const failed = this.lastRead;
        if (failed.length > 1) {
          // One of its events is broken (or the database failed): take them one at a time, at once.
          this.isolateThrough = BigInt(failed[failed.length - 1].globalPosition);
          this.logger.warn(`batch of ${failed.length} events failed, taking them one at a time: ${describeError(error)}`);
          continue;
        }
        consecutiveFailures += 1;
        const delay = Math.min(this.options.maxRetryDelayMs ?? 30_000, 100 * 2 ** consecutiveFailures);
        const [event] = failed;
        // The first event after the checkpoint failed by itself: the subscription is stopped at it.
        if (event) {
          await recordFailure(this.dataSource, this.name, event, error).catch((cause: unknown) =>
            this.logger.error(`recording the failure failed: ${String(cause)}`),
          );
        }
        const what = event ? `stopped at ${event.eventType} ${event.eventId} (position ${event.globalPosition})` : 'batch failed';
        this.logger.error(`${what} (attempt ${consecutiveFailures}), retrying in ${delay} ms: ${describeError(error)}`);
        await this.pause(delay);
      }
    }
  }

  /** Sleeps `ms`, or less when stop() or retryNow() is called. */
  private async pause(ms: number): Promise<void> {
    if (!this.stopping && !this.retryRequested) await this.stopSignal.wait(ms);
    this.retryRequested = false;
  }
}
