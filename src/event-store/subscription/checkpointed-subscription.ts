import { Logger } from '@nestjs/common';
import { logContextOf, withLogContext } from '../../logging/log-context';
import { doublingBackoff, type FailureHandling, PollingWorker } from '../../shared/polling-worker';
import { DataSource, EntityManager } from 'typeorm';
import { CheckpointTracker } from '../sequencing/event-store-head';
import type { EventSequencer } from '../sequencing/event-sequencer';
import { ensureSegments, segmentKey } from '../segments/segment-checkpoints';
import { segmentOf } from '../segments/segments';
import type { SegmentLease } from '../segments/subscription-leases';
import { SequencedEvent, STORED_EVENT_COLUMNS } from '../stored-event';
import { ensureCheckpoint, sequencedEventsAfter } from './committed-events';
import { describeError, recordFailure } from './subscription-failures';
import { PAUSED_RECHECK_MS, pausedCondition } from './subscription-pauses';

/**
 * What a handler made of a batch when it could not take all of it: the checkpoint advances past
 * the first `handled` events only, and the rest is read again after `retryAfterMs`.
 */
export interface BatchOutcome {
  handled: number;
  retryAfterMs?: number;
}

/** Applies a batch inside the transaction that also advances the checkpoint. */
export type EventBatchHandler = (events: SequencedEvent[], transaction: EntityManager) => Promise<void | BatchOutcome>;

export interface SubscriptionOptions {
  batchSize: number;
  /** How long a woken subscription waits for more events before reading a batch. */
  gatherMs: number;
  maxRetryDelayMs?: number;
  /**
   * The segments this process holds (SubscriptionLeases): the subscription is split into
   * `lease.segments` by stream id, each with its own checkpoint row, and takes only the segments
   * it holds. Absent: one segment, taken by whichever process locks its row first.
   */
  lease?: SegmentLease;
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
 *
 * Split into segments (`options.lease`), an event belongs to segment `segmentOf(streamId, S)`
 * and each segment has its own checkpoint row. A batch locks the rows of the segments this
 * process holds, reads once after the lowest of them, applies the events of those segments that
 * lie beyond their own checkpoint (one stream's events are in one segment, so in commit order)
 * and moves every locked row to the end of what it read: the events of other segments there are
 * another process's. The filter runs in JS on what was read: each process reads every event
 * once per batch and passes over the others' (S segments in P processes: P reads of each event,
 * not S). The row locks, not the leases, keep a batch exact: a process that lost its lease
 * mid-batch still commits or rolls back before the next holder reads that row.
 * It is locked only when events wait beyond it: a read that finds nothing takes no row lock and
 * so no transaction id. And it reads only when the process's EventStoreHead says the store holds
 * numbers beyond its checkpoint: an idle subscription sends no query at all.
 *
 * Paused by an operator (subscription-pauses.ts), the same statement locks no row and reads
 * nothing; the subscription looks again every PAUSED_RECHECK_MS, or at once when resumed.
 */
export class CheckpointedSubscription {
  private readonly logger: Logger;
  /** The checkpoint of each segment as known here (see CheckpointTracker). */
  private readonly trackers = new Map<number, CheckpointTracker>();
  private readonly segments: number;
  /** Events the last batch read, its own and other segments' (a batch of only others' events applies nothing and moves on). */
  private lastReadCount = 0;
  private lastPassedOnly = false;
  /** The last batch found the subscription paused by an operator (subscription-pauses.ts): it took nothing. */
  private pausedByOperator = false;
  /** Runs step after step; its pauses are cut short by stop() and retryNow(). */
  private readonly worker: PollingWorker;
  /** After the n-th failure in a row (of the subscription, or of one segment): 100 ms · 2^n, at most maxRetryDelayMs. */
  private readonly backoff: (failures: number) => number;
  private stopping = false;
  private retryAfterMs?: number;
  /** What the last processNextBatch read: after a failure, the batch that failed. */
  private lastRead: SequencedEvent[] = [];
  /**
   * After a batch failed: events are taken one at a time up to its last one, so the subscription
   * applies everything before the broken event and stops exactly at it.
   */
  private isolateThrough?: bigint;
  /**
   * Split into segments: the held segments stopped at an event they cannot take, with their own
   * back-off. The other segments go on without them; a stopped one is tried again by itself (its
   * first event beyond its checkpoint only) when its retry is due.
   */
  private readonly stoppedSegments = new Map<number, { failures: number; retryAt: number }>();
  /** The stopped segment the current batch tries again, if any. */
  private retrying?: number;

  constructor(
    readonly name: string,
    private readonly dataSource: DataSource,
    private readonly handler: EventBatchHandler,
    private readonly sequencer: EventSequencer,
    private readonly options: SubscriptionOptions,
  ) {
    this.logger = new Logger(`Subscription:${name}`);
    this.segments = options.lease?.segments ?? 1;
    this.backoff = doublingBackoff(100, options.maxRetryDelayMs ?? 30_000);
    this.worker = new PollingWorker(() => this.step(), {
      intervalMs: 0,
      backoff: this.backoff,
      onFailure: (error, failures, delay) => this.onBatchFailure(error, failures, delay),
    });
    // A segment taken or lost: the loop looks at once.
    options.lease?.changed.listen(() => sequencer.head.wake());
  }

  /**
   * Creates the checkpoint at the beginning of the store unless it exists already; split into
   * segments, creates or re-splits them (refused with SegmentsMismatchError when unsafe).
   */
  ensureCheckpoint(): Promise<void> {
    if (!this.options.lease) return ensureCheckpoint(this.dataSource, this.name);
    return ensureSegments(this.dataSource, this.name, this.segments, { fromHead: false, idempotent: false });
  }

  async start(): Promise<void> {
    await this.ensureCheckpoint();
    const stored: Array<{ segment: number; position: string }> = await this.dataSource.query(
      `SELECT segment, global_position::text AS position FROM subscription_checkpoints WHERE subscription_id = $1 AND segments = $2`,
      [this.name, this.segments],
    );
    for (const { segment, position } of stored) this.tracker(segment).at(position);
    this.stopping = false;
    this.worker.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const stopped = this.worker.stop();
    this.sequencer.head.wake();
    await stopped;
  }

  /** Wakes a subscription that backs off after a failure (an operator's retry); remembered if it is busy. */
  retryNow(): void {
    for (const stopped of this.stoppedSegments.values()) stopped.retryAt = 0;
    this.worker.wake();
    if (this.stoppedSegments.size > 0) this.sequencer.head.wake();
  }

  /** Processes at most one batch of what is numbered; returns how many events it applied. */
  async processNextBatch(): Promise<number> {
    const headBeforeRead = this.sequencer.head.position;
    this.retryAfterMs = undefined;
    this.lastRead = [];
    this.lastReadCount = 0;
    this.lastPassedOnly = false;
    this.pausedByOperator = false;
    this.retrying = undefined;
    const owned = this.options.lease ? await this.options.lease.beforeBatch() : [0];
    for (const segment of [...this.stoppedSegments.keys()]) if (!owned.includes(segment)) this.stoppedSegments.delete(segment);
    // A stopped segment whose retry is due is tried by itself; otherwise the segments not stopped.
    const now = Date.now();
    this.retrying = owned.find((segment) => (this.stoppedSegments.get(segment)?.retryAt ?? Infinity) <= now);
    const taking = this.retrying !== undefined ? [this.retrying] : owned.filter((segment) => !this.stoppedSegments.has(segment));
    if (taking.length === 0) return 0;
    let moved: Array<[number, bigint]> = [];
    let locked: number[] = [];
    let doneUpTo: bigint | undefined;
    let paused = false;
    const applied = await this.dataSource.transaction(async (transaction) => {
      // Locks the held segments' checkpoints and reads the batch after the lowest in one round
      // trip. None locked: either nothing is new, another process holds them right now, or an
      // operator paused the subscription.
      const rows: Array<SequencedEvent & { positions: Record<string, string> | null; paused: boolean }> = await transaction.query(
        `WITH checkpoint AS (
           SELECT c.segment, c.global_position FROM subscription_checkpoints c
           WHERE c.subscription_id = $1 AND c.segments = $3 AND c.segment = ANY($4::int[])
             AND EXISTS (SELECT 1 FROM events e WHERE e.global_position > c.global_position)
             AND NOT ${pausedCondition('c.subscription_id')}
           FOR UPDATE OF c SKIP LOCKED
         ), locked AS (
           SELECT json_object_agg(segment, global_position::text) AS positions, min(global_position) AS after,
                  ${pausedCondition('$1')} AS paused
           FROM checkpoint
         )
         SELECT locked.positions, locked.paused, ${STORED_EVENT_COLUMNS}
         FROM locked LEFT JOIN LATERAL (${sequencedEventsAfter('locked.after', '$2')}) AS events ON true
         ORDER BY events.global_position`,
        [this.name, this.isolateThrough === undefined || this.retrying !== undefined ? this.options.batchSize : 1, this.segments, taking],
      );
      paused = rows[0]?.paused ?? false;
      const positions = new Map(Object.entries(rows[0]?.positions ?? {}).map(([segment, position]) => [Number(segment), BigInt(position)]));
      locked = [...positions.keys()];
      const read = rows.filter((row) => row.eventId !== null).map(({ positions: _positions, paused: _paused, ...event }) => event as SequencedEvent);
      if (read.length === 0) return 0;
      this.lastReadCount = read.length;
      const allMine = read.filter((event) => {
        const at = positions.get(this.segmentOf(event));
        return at !== undefined && BigInt(event.globalPosition) > at;
      });
      // A stopped segment tried again: its first event only (the one it is stopped at).
      const mine = this.retrying !== undefined ? allMine.slice(0, 1) : allMine;
      this.lastRead = mine;
      let handled = 0;
      if (mine.length > 0) {
        // As stored: the handler upcasts what it reads (applyProjection, only the types its projection handles).
        const outcome = (await this.handler(mine, transaction)) ?? { handled: mine.length };
        this.retryAfterMs = outcome.retryAfterMs;
        handled = outcome.handled;
      } else {
        this.lastPassedOnly = true;
      }
      // Every locked segment is done up to the first event not handled, or the end of the read.
      doneUpTo =
        handled < mine.length
          ? BigInt(mine[handled].globalPosition) - 1n
          : mine.length < allMine.length
            ? BigInt(allMine[mine.length].globalPosition) - 1n
            : BigInt(read[read.length - 1].globalPosition);
      const upTo = doneUpTo;
      moved = [...positions].filter(([, at]) => at < upTo).map(([segment]) => [segment, upTo]);
      if (moved.length === 0) return 0;
      await transaction.query(
        `UPDATE subscription_checkpoints c SET global_position = moved.position, updated_at = now()
         FROM unnest($3::int[], $4::bigint[]) AS moved(segment, position)
         WHERE c.subscription_id = $1 AND c.segments = $2 AND c.segment = moved.segment AND c.global_position < moved.position`,
        [this.name, this.segments, moved.map(([segment]) => segment), moved.map(([, position]) => position.toString())],
      );
      return handled;
    });
    if (paused) {
      // Not caught up: the events beyond the checkpoint wait for the resume.
      this.pausedByOperator = true;
      return 0;
    }
    for (const [segment, position] of moved) this.tracker(segment).at(position);
    // The held segments it could not lock had nothing beyond them (or were being applied elsewhere).
    for (const segment of taking) if (!locked.includes(segment)) this.tracker(segment).caughtUpTo(headBeforeRead);
    // The stopped segment took (or passed) the event it was stopped at.
    if (this.retrying !== undefined) this.stoppedSegments.delete(this.retrying);
    if (this.retrying === undefined && this.isolateThrough !== undefined && doneUpTo !== undefined && doneUpTo >= this.isolateThrough) {
      this.isolateThrough = undefined;
    }
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
      // A batch of other segments' events only moved the checkpoints on: read on.
      if (applied === 0 && !this.lastPassedOnly) return total;
    }
  }

  /** The segment of an event: by its stream, so that one stream's events stay in one segment, in order. */
  private segmentOf(event: SequencedEvent): number {
    return segmentOf(event.streamId, this.segments);
  }

  private tracker(segment: number): CheckpointTracker {
    let tracker = this.trackers.get(segment);
    if (!tracker) {
      tracker = new CheckpointTracker(segmentKey(this.name, segment, this.segments), this.sequencer.head);
      this.trackers.set(segment, tracker);
    }
    return tracker;
  }

  /** The segments this process may take now (all of them without a lease). */
  private held(): number[] {
    return this.options.lease ? [...this.options.lease.held] : [0];
  }

  /** Whether events beyond the checkpoint of a segment held here are (known to be) numbered. */
  private behind(): boolean {
    const now = Date.now();
    return (
      !!this.options.lease?.releasing ||
      this.held().some((segment) => {
        const stopped = this.stoppedSegments.get(segment);
        return stopped ? stopped.retryAt <= now : this.tracker(segment).behind();
      })
    );
  }

  /** How long until the retry of a stopped segment is due (the idle wait's bound). */
  private idleWaitMs(): number {
    const now = Date.now();
    let wait = IDLE_RECHECK_MS;
    for (const { retryAt } of this.stoppedSegments.values()) wait = Math.min(wait, Math.max(1, retryAt - now));
    return wait;
  }

  /** One turn: waits while caught up, else processes a batch; returns the pause before the next turn. */
  private async step(): Promise<number> {
    if (!this.behind()) {
      while (!this.stopping && !this.behind()) await this.sequencer.head.changed(this.idleWaitMs());
      // Let the numbers of the next few milliseconds join this batch instead of paying a
      // transaction each: under load that is most of a projection's cost.
      if (this.options.gatherMs > 0 && !this.stopping) await this.pause(this.options.gatherMs);
      return 0;
    }
    const applied = await this.processNextBatch();
    // Paused by an operator: look again later; a resume (retryNow) cuts the wait short.
    if (this.pausedByOperator) return PAUSED_RECHECK_MS;
    // The handler asked to see the rest of the batch again later (a failing reaction).
    if (this.retryAfterMs !== undefined) return this.retryAfterMs;
    // Caught up with what was numbered: under load more is numbered every moment, and a batch
    // per number would cost a transaction each. Let it gather.
    if (applied === 0 && this.lastPassedOnly) return 0;
    if (this.lastReadCount < this.options.batchSize && this.options.gatherMs > 0 && this.isolateThrough === undefined) return this.options.gatherMs;
    return 0;
  }

  /**
   * A batch failed. Of several events: take them one at a time, at once. Of one event in a
   * segment: that segment stops by itself, with its own back-off, the others go on at once.
   * Otherwise the subscription is stopped at the event (or the database failed) and backs off.
   */
  private async onBatchFailure(error: unknown, consecutiveFailures: number, delay: number): Promise<FailureHandling> {
    const failed = this.lastRead;
    if (failed.length > 1) {
      // One of its events is broken (or the database failed): take them one at a time, at once.
      this.isolateThrough = BigInt(failed[failed.length - 1].globalPosition);
      this.logger.warn(`batch of ${failed.length} events failed, taking them one at a time: ${describeError(error)}`);
      return 'at-once';
    }
    const [event] = failed;
    // Split into segments, one event's segment stops by itself: the others go on at once.
    if (event && this.segments > 1) {
      const segment = this.segmentOf(event);
      const failures = (this.stoppedSegments.get(segment)?.failures ?? 0) + 1;
      const segmentDelay = this.backoff(failures);
      this.stoppedSegments.set(segment, { failures, retryAt: Date.now() + segmentDelay });
      await withLogContext(logContextOf(event), async () => {
        await recordFailure(this.dataSource, this.name, event, error, segment).catch((cause: unknown) =>
          this.logger.error(`recording the failure failed: ${String(cause)}`),
        );
        this.logger.error(
          `segment ${segment} stopped at ${event.eventType} ${event.eventId} (position ${event.globalPosition}) (attempt ${failures}), ` +
            `retrying in ${segmentDelay} ms; the other segments go on: ${describeError(error)}`,
        );
      });
      return 'at-once';
    }
    // The first event after the checkpoint failed by itself: the subscription is stopped at it.
    if (event) {
      await withLogContext(logContextOf(event), async () => {
        await recordFailure(this.dataSource, this.name, event, error, this.segmentOf(event)).catch((cause: unknown) =>
          this.logger.error(`recording the failure failed: ${String(cause)}`),
        );
        this.logger.error(
          `stopped at ${event.eventType} ${event.eventId} (position ${event.globalPosition}) (attempt ${consecutiveFailures}), ` +
            `retrying in ${delay} ms: ${describeError(error)}`,
        );
      });
    } else {
      this.logger.error(`batch failed (attempt ${consecutiveFailures}), retrying in ${delay} ms: ${describeError(error)}`);
    }
  }

  /** Sleeps `ms`, or less when stop() or retryNow() is called. */
  private pause(ms: number): Promise<void> {
    return this.worker.pause(ms);
  }
}
