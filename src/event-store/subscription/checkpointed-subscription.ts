import { Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { EventAppendedSignal } from '../event-appended-signal';
import type { EventUpcasters } from '../upcasting/event-upcasters';
import { STORED_EVENT_COLUMNS, StoredEvent } from '../stored-event';
import { committedEventsAfter, ensureCheckpoint } from './committed-events';

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
export type EventBatchHandler = (events: StoredEvent[], transaction: EntityManager) => Promise<void | BatchOutcome>;

export interface SubscriptionOptions {
  batchSize: number;
  idlePollMs: number;
  /** How long a woken subscription waits for more events before reading a batch. */
  gatherMs: number;
  maxRetryDelayMs?: number;
}

/**
 * Delivers every committed event of the store, in commit order, exactly once per successful
 * batch, remembering where it stopped in `subscription_checkpoints`.
 *
 * Why not `WHERE position > $last`: positions come from a sequence at INSERT time, but a
 * transaction that took position 10 may commit after one that took 11. A reader that already
 * moved past 11 would never see 10. Each event row therefore records the id of the transaction
 * that wrote it, and the reader only takes events whose transaction id is below the oldest one
 * still running (`pg_snapshot_xmin`): those transactions are over, so nothing can appear behind
 * them any more. The checkpoint is the pair (transaction id, position).
 *
 * The checkpoint row is locked `FOR UPDATE SKIP LOCKED` for the batch, so with several processes
 * only one applies a given subscription's batch at a time; the others skip and try again later.
 */
export class CheckpointedSubscription {
  private readonly logger: Logger;
  private running?: Promise<void>;
  private stopping = false;
  private retryAfterMs?: number;

  constructor(
    readonly name: string,
    private readonly dataSource: DataSource,
    private readonly handler: EventBatchHandler,
    private readonly appended: EventAppendedSignal,
    private readonly options: SubscriptionOptions,
    private readonly upcasters?: EventUpcasters,
  ) {
    this.logger = new Logger(`Subscription:${name}`);
  }

  /** Creates the checkpoint at the beginning of the store unless it exists already. */
  ensureCheckpoint(): Promise<void> {
    return ensureCheckpoint(this.dataSource, this.name);
  }

  async start(): Promise<void> {
    await this.ensureCheckpoint();
    this.stopping = false;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.appended.raise();
    await this.running;
  }

  /** Processes at most one batch; returns how many events it applied. */
  async processNextBatch(): Promise<number> {
    let appended = false;
    const applied = await this.dataSource.transaction(async (transaction) => {
      // Locks the checkpoint and reads the batch after it in one round trip. No row: either
      // nothing is new, or another process holds this subscription right now.
      const stored: StoredEvent[] = await transaction.query(
        `WITH checkpoint AS (
           SELECT transaction_id AS after_transaction_id, position AS after_position
           FROM subscription_checkpoints
           WHERE subscription_id = $1 FOR UPDATE SKIP LOCKED
         )
         SELECT ${STORED_EVENT_COLUMNS} FROM checkpoint, LATERAL (
           ${committedEventsAfter('checkpoint.after_transaction_id', 'checkpoint.after_position', '$2')}
         ) AS events
         ORDER BY events.transaction_id, events.position`,
        [this.name, this.options.batchSize],
      );
      if (stored.length === 0) return 0;
      const events = this.upcasters?.upcastAll(stored) ?? stored;

      const outcome = (await this.handler(events, transaction)) ?? { handled: events.length };
      this.retryAfterMs = outcome.retryAfterMs;
      appended = outcome.appended ?? false;
      if (outcome.handled === 0) return 0;

      const last = events[outcome.handled - 1];
      await transaction.query(
        `UPDATE subscription_checkpoints SET transaction_id = $2::xid8, position = $3::bigint, updated_at = now()
         WHERE subscription_id = $1`,
        [this.name, last.transactionId, last.position],
      );
      return outcome.handled;
    });
    if (appended) this.appended.raise();
    return applied;
  }

  /** Processes batches until none is left; used by tests and by rebuilds. */
  async catchUp(): Promise<number> {
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
        const applied = await this.processNextBatch();
        consecutiveFailures = 0;
        if (this.retryAfterMs !== undefined) {
          // The handler asked to see the rest of the batch again later (a failing reaction).
          await sleep(this.retryAfterMs);
        } else if (applied < this.options.batchSize) {
          await this.appended.wait(this.options.idlePollMs);
          // Let the commits of the next few milliseconds join this batch instead of paying a
          // transaction each: under load that is most of a projection's cost.
          if (this.options.gatherMs > 0 && !this.stopping) await sleep(this.options.gatherMs);
        }
      } catch (error) {
        if (this.stopping) break;
        consecutiveFailures += 1;
        const delay = Math.min(this.options.maxRetryDelayMs ?? 30_000, 100 * 2 ** consecutiveFailures);
        this.logger.error(`batch failed (attempt ${consecutiveFailures}), retrying in ${delay} ms: ${String(error)}`);
        await this.appended.wait(delay);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
