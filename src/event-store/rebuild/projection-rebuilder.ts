import type { DataSource, EntityManager } from 'typeorm';
import { assertPlainIdentifier } from '../../database/sql-identifier';
import { withoutStatementReplyTimeout } from '../../database/statement-reply-timeout';
import { applyProjection, type ProjectionDefinition } from '../manifest/projection-definition';
import type { SequencedEvent } from '../stored-event';
import { sequencePendingEvents } from '../sequencing/event-sequencer';
import { advanceCheckpoint, Checkpoint, ensureCheckpoint, readCommittedEventsAfter } from '../subscription/committed-events';
import { EventUpcasters } from '../upcasting/event-upcasters';
import { BEGINNING_OF_STORE, checkpointOf, isBefore, livePositions, lockCheckpoint, notYetApplied, readCommittedEventsBetween } from './checkpoint-range';
import { compareReadModels, isIdentical, ReadModelDifferences } from './read-model-comparison';
import { RebuildProgress, RebuildProgressMeter } from './rebuild-progress';
import { RebuildLock, withRebuildLock } from './rebuild-lock';
import { createRebuildTable, swapInRebuiltTable } from './rebuild-table';

export interface RebuildOptions {
  /** Events applied per transaction. */
  batchSize: number;
  /** Swap the rebuilt table in even when its rows differ: how changed projection logic is deployed. */
  acceptDifferences: boolean;
  onProgress?: (progress: RebuildProgress) => void;
  /**
   * Aborted, the rebuild stops between two batches (before the swap, never inside it), drops its
   * `_rebuild` table and rejects with the signal's reason; the live table stays as it was.
   */
  signal?: AbortSignal;
}

export interface RebuildResult {
  projection: string;
  eventsReplayed: number;
  differences: ReadModelDifferences;
  /** Whether the rebuilt table replaced the live one; when not, it was dropped. */
  swapped: boolean;
  seconds: number;
}

type BatchReport = (events: readonly SequencedEvent[]) => void;

/**
 * Rebuilds a projection from the whole event store into `<table>_rebuild` while the live table
 * keeps answering queries, then, with the live projector paused, swaps it in under the live name
 * if both hold the same rows (or differences are accepted).
 */
export class ProjectionRebuilder {
  constructor(
    private readonly dataSource: DataSource,
    /** The same upcasters the live projectors read through, so old event versions fold alike. */
    private readonly upcasters: EventUpcasters,
    private readonly now: () => number = Date.now,
  ) {}

  private project(projection: ProjectionDefinition, events: SequencedEvent[], db: EntityManager, table: string): Promise<void> {
    return applyProjection(projection, events, db, table, this.upcasters);
  }

  /** Takes the projection's rebuild lock (RebuildAlreadyRunningError when another rebuild holds it), rebuilds, and lets the lock go. */
  rebuild(projection: ProjectionDefinition, options: RebuildOptions): Promise<RebuildResult> {
    return withRebuildLock(this.dataSource, projection.name, (lock) => this.rebuildHoldingLock(lock, projection, options));
  }

  /**
   * Rebuilds under the projection's rebuild lock, taken by the caller (acquireRebuildLock) and
   * released by it. Its statements are not bounded by the pool's statement reply timeout
   * (withoutStatementReplyTimeout): a batch of events, or the comparison of two large tables, may
   * legitimately take longer.
   */
  rebuildHoldingLock(lock: RebuildLock, projection: ProjectionDefinition, options: RebuildOptions): Promise<RebuildResult> {
    return withoutStatementReplyTimeout(() => this.rebuildUnbounded(lock, projection, options));
  }

  private async rebuildUnbounded(lock: RebuildLock, projection: ProjectionDefinition, options: RebuildOptions): Promise<RebuildResult> {
    if (lock.projection !== projection.name) throw new Error(`the rebuild lock held is ${lock.projection}'s, not ${projection.name}'s`);
    const startedAt = this.now();
    const rebuildTable = `${projection.table}_rebuild`;
    for (const table of [projection.table, rebuildTable]) assertPlainIdentifier(table);
    await this.requireTables('events', 'subscription_checkpoints', projection.table);
    await ensureCheckpoint(this.dataSource, projection.subscriptionId);
    await createRebuildTable(this.dataSource, projection.table, rebuildTable);
    // Numbers what is committed, should no API run right now: the rebuild reads by global position.
    await sequencePendingEvents(this.dataSource);
    try {
      const meter = new RebuildProgressMeter(projection.name, await this.storeSize(), this.now);
      const report: BatchReport = (events) => {
        const progress = meter.record(events);
        options.onProgress?.(progress);
      };
      const rebuiltUpTo = await this.replayStore(projection, rebuildTable, options, report);
      await this.catchUpLaggingLiveProjection(projection, rebuiltUpTo, options);
      options.signal?.throwIfAborted();
      const outcome = await this.dataSource.transaction((transaction) =>
        this.settle(transaction, projection, rebuildTable, rebuiltUpTo, options, report),
      );
      const eventsReplayed = meter.current().eventsDone;
      return { projection: projection.name, eventsReplayed, ...outcome, seconds: (this.now() - startedAt) / 1000 };
    } catch (error) {
      await this.dataSource.query(`DROP TABLE IF EXISTS ${rebuildTable}`).catch(() => undefined);
      throw error;
    }
  }

  /** Replays the store from its beginning until a batch comes back short, i.e. close to its head. */
  private async replayStore(projection: ProjectionDefinition, table: string, { batchSize, signal }: RebuildOptions, report: BatchReport): Promise<Checkpoint> {
    let checkpoint = BEGINNING_OF_STORE;
    for (;;) {
      signal?.throwIfAborted();
      const events = await readCommittedEventsAfter(this.dataSource, checkpoint, batchSize);
      if (events.length > 0) {
        // A short transaction per batch: a long one would keep old row versions alive (vacuum).
        await this.dataSource.transaction((transaction) => this.project(projection, events, transaction, table));
        checkpoint = checkpointOf(events[events.length - 1]);
        report(events);
      }
      if (events.length < batchSize) return checkpoint;
    }
  }

  /**
   * When the live projector lags (or runs nowhere), applies its events up to `upTo` for it, batch
   * by batch as it would itself, so that the swap, which pauses it, is left with little to do.
   */
  private async catchUpLaggingLiveProjection(projection: ProjectionDefinition, upTo: Checkpoint, { batchSize, signal }: RebuildOptions): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const applied = await this.dataSource.transaction(async (transaction) => {
        const liveUpTo = await lockCheckpoint(transaction, projection.subscriptionId);
        if (!isBefore(liveUpTo, upTo)) return 0;
        const live = await livePositions(transaction, projection.subscriptionId);
        const events = await readCommittedEventsBetween(transaction, liveUpTo, upTo, batchSize);
        if (events.length === 0) return 0;
        // Split into segments, each stands where it stands: only what it has not applied yet.
        const missing = notYetApplied(events, live);
        if (missing.length > 0) await this.project(projection, missing, transaction, projection.table);
        await advanceCheckpoint(transaction, projection.subscriptionId, checkpointOf(events[events.length - 1]));
        return events.length;
      });
      if (applied < batchSize) return;
    }
  }

  /**
   * One transaction, the live projector paused on its locked checkpoint: brings whichever table
   * is behind up to the other one's checkpoint, so both reflect exactly the same events, compares
   * them, then swaps the rebuilt table in or drops it. Keep it short: the live projector waits.
   */
  private async settle(
    transaction: EntityManager,
    projection: ProjectionDefinition,
    rebuildTable: string,
    rebuiltUpTo: Checkpoint,
    { batchSize, acceptDifferences }: RebuildOptions,
    report: BatchReport,
  ): Promise<Pick<RebuildResult, 'differences' | 'swapped'>> {
    // Split into segments, the live table reflects each segment up to its own checkpoint: both
    // tables are brought up to the highest of them (one segment: to the live checkpoint).
    const liveUpTo = await lockCheckpoint(transaction, projection.subscriptionId);
    const live = await livePositions(transaction, projection.subscriptionId);
    let upTo = rebuiltUpTo;
    if (isBefore(rebuiltUpTo, live.highest)) {
      await replayBetween(transaction, rebuiltUpTo, live.highest, batchSize, async (events) => {
        await this.project(projection, events, transaction, rebuildTable);
        report(events);
      });
      upTo = live.highest;
    }
    if (isBefore(liveUpTo, upTo)) {
      // Whatever catchUpLaggingLiveProjection left (normally nothing), applied for the paused projector.
      await replayBetween(transaction, liveUpTo, upTo, batchSize, async (events) => {
        const missing = notYetApplied(events, live);
        if (missing.length > 0) await this.project(projection, missing, transaction, projection.table);
      });
      await advanceCheckpoint(transaction, projection.subscriptionId, upTo);
    }

    const differences = await compareReadModels(transaction, projection.table, rebuildTable);
    const swapped = isIdentical(differences) || acceptDifferences;
    if (swapped) await swapInRebuiltTable(transaction, projection.table, rebuildTable);
    else await transaction.query(`DROP TABLE ${rebuildTable}`);
    return { differences, swapped };
  }

  private async requireTables(...tables: string[]): Promise<void> {
    const missing: Array<{ name: string }> = await this.dataSource.query(
      `SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NULL`,
      [tables],
    );
    if (missing.length > 0) {
      throw new Error(`missing table(s) ${missing.map(({ name }) => name).join(', ')}: run the migrations first (the API runs them at start)`);
    }
  }

  private async storeSize(): Promise<{ eventCount: number; lastPosition: bigint }> {
    const [row] = await this.dataSource.query(`SELECT count(*)::text AS count, coalesce(max(global_position), 0)::text AS last FROM events`);
    return { eventCount: Number(row.count), lastPosition: BigInt(row.last) };
  }
}

/** Applies the committed events after `after` up to and including `upTo`, batch by batch. */
async function replayBetween(
  db: EntityManager,
  after: Checkpoint,
  upTo: Checkpoint,
  batchSize: number,
  apply: (events: SequencedEvent[]) => Promise<void>,
): Promise<void> {
  for (let from = after; ; ) {
    const events = await readCommittedEventsBetween(db, from, upTo, batchSize);
    if (events.length > 0) {
      await apply(events);
      from = checkpointOf(events[events.length - 1]);
    }
    if (events.length < batchSize) return;
  }
}
