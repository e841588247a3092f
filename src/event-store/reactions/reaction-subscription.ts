import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isPostgresError } from '../../database/postgres-errors';
import { TransactionContext } from '../../database/transaction-context';
import { logContextOf, withLogContext } from '../../logging/log-context';
import { classifyFailure } from '../../shared/failure-classification';
import { doublingBackoff, PollingWorker } from '../../shared/polling-worker';
import { describeError } from '../subscription/subscription-failures';
import { PAUSED_RECHECK_MS } from '../subscription/subscription-pauses';
import { CheckpointTracker } from '../sequencing/event-store-head';
import type { EventSequencer } from '../sequencing/event-sequencer';
import { Latch, Signal } from '../sequencing/signal';
import { loadSegmentCheckpoints, segmentKey } from '../segments/segment-checkpoints';
import { segmentOf } from '../segments/segments';
import type { SegmentLease } from '../segments/subscription-leases';
import { StoredEvent, STORED_EVENT_COLUMNS } from '../stored-event';
import type { EventUpcasters } from '../upcasting/event-upcasters';
import type { Reaction, ReactionStep, ReactionWork } from './reaction';
import { IN_FAILED_TRANSACTION, inReceiptTransaction, ReceiptTransaction, TransactionAbortedError } from './receipt-transaction';
import { inReactionStep } from '../running-commands';
import { causeOf } from './event-origin';
import { inStepSpan } from './step-span';
import {
  advanceReactionCheckpoint,
  ReactionEvent,
  readReactionBatch,
  recordReceipts,
  WHOLE_EVENT,
} from './reaction-receipts';

export interface ReactionSubscriptionOptions {
  /** Events read per query (each is still taken in its own transaction). */
  batchSize: number;
  /** Partitions whose events are taken at once (each lane one transaction at a time). */
  concurrency: number;
  /** Events taken together in one transaction when they wait: one partition's backlog, or the first events of several partitions (1: always one by one). */
  chunkSize: number;
  /** How long a woken reaction waits for more events before it reads. */
  gatherMs: number;
  /** Attempts of one step on one event before it is parked. */
  maxAttempts: number;
  /** Delay after a step's first failure; it doubles with every further one. */
  retryBaseMs: number;
}

/** How long a process that found the reaction leased by another one waits before it asks again. */
const HELD_ELSEWHERE_PAUSE_MS = 1000;
/**
 * How long a statement of a reaction's step waits for a lock (`lock_timeout`). A longer wait fails
 * the step like a lost connection (retried, with a growing delay, not counted towards parking):
 * its partition waits, while the other partitions go on. In a chunk it also bounds how long the wait holds back the
 * commit of the events before it (the chunk then runs again without it).
 */
const STEP_LOCK_TIMEOUT_MS = 2000;
/**
 * `lock_timeout` of a transaction that takes the first events of several partitions together: a
 * member that waits longer for a lock is taken on its own (with STEP_LOCK_TIMEOUT_MS), and the
 * others commit without it (in the transaction run again, see takeTogether).
 */
const GROUP_LOCK_TIMEOUT_MS = 200;
/** While a batch runs, how often the checkpoint follows the events done so far (one UPDATE each). */
const CHECKPOINT_FLUSH_MS = 1000;
/** How long an idle reaction sleeps between looks at the in-memory head (no query). */
const IDLE_RECHECK_MS = 60_000;
const MAX_RETRY_DELAY_MS = 30_000;

type Outcome = { kind: 'handled' } | { kind: 'retry-later'; afterMs: number };

/** One transaction of a chunk: committed, or rolled back by a step failing at `index` of `lane`, or by anything else. */
type ChunkRun = { kind: 'committed' } | { kind: 'step-failed'; lane: number; index: number } | { kind: 'rolled-back' };

/** What a chunk did about one of its lanes: `took` events committed; the `alone` after them are to be taken each on its own. */
interface LaneOutcome {
  took: number;
  alone: number;
}

/** An event to take, as stored and as an instance of its class (undefined: no class is known for its type). */
interface PartitionedEvent {
  stored: ReactionEvent;
  event: object | undefined;
}

/** The raw partition key of an event (the reaction's key, or its stream), and so its segment. */
interface Keyed extends PartitionedEvent {
  key: string;
  segment: number;
}

/**
 * What one batch came to. `pauseMs`: stopping, or another process holds the reaction. `retryDueInMs`:
 * nothing could be done but wait for partitions whose retry is not due (new events end the wait
 * sooner). `caughtUp`: nothing of the reaction's types is left to do.
 */
interface BatchOutcome {
  taken: number;
  caughtUp: boolean;
  pauseMs?: number;
  retryDueInMs?: number;
  /** An operator paused the reaction (subscription-pauses.ts): nothing was read or taken. */
  paused?: boolean;
}

/** A batch's events of one partition key, in commit order. */
interface Partition {
  key: string;
  segment: number;
  events: PartitionedEvent[];
}

/** A transaction the step's own code aborted (it caught a failed statement and went on) is the step's failure. */
function blameAbortOn(stepName: string): (error: unknown) => never {
  return (error) => {
    throw error instanceof TransactionAbortedError ? new StepFailure(stepName, error) : error;
  };
}

/**
 * A stored event the reaction's decode could not read (decode threw: the contract's mapper met a
 * payload it cannot read). Every step fails on it as on its own work, so the event is retried
 * and parked like any failing step, instead of failing the read of every batch after it.
 */
class UndecodableEvent {
  constructor(readonly error: unknown) {}
}

/** A step's own failure (its plan or its work), as opposed to the database failing under us. */
class StepFailure {
  constructor(
    readonly stepName: string,
    readonly error: unknown,
  ) {}
}

/**
 * Delivers the events of a reaction's types, each in its own short transaction in which the
 * effect and the fact that the reaction took the event commit together:
 *
 * - **Segments, one process each**: the reaction is split into `lease.segments` segments by its
 *   partition key (segmentOf), each with its own checkpoint; a process takes the segments whose
 *   lease it holds (SubscriptionLeases: session advisory locks), reading once after the lowest
 *   of their checkpoints and passing over the other segments' events. When a process dies,
 *   another takes its segments over. The lease only saves duplicate work: correctness rests on
 *   the receipts. With one segment (the default) one process runs the whole reaction.
 * - **Receipts make every step idempotent per causing event**, whatever the aggregates' state:
 *   the event's transaction writes its receipt (`reaction_receipts`, step `*`) with the last
 *   step's effect, and an event already receipted is passed over. A checkpoint reset to the
 *   beginning, or a process that lost its lease mid-step, repeats nothing.
 * - **Partitions in order, concurrently.** A batch's events are grouped by the reaction's
 *   partition key (`partitionBy`, by default the stream). One partition's events are taken one at
 *   a time in commit order; up to `concurrency` partitions run at once. Without this a reaction
 *   waits for one round trip after another, and the saga fell behind the orders placed.
 * - **Together under load.** When a batch holds more partitions than run at once, or a backlog in
 *   one, their events are taken in groups of up to `chunkSize`, one transaction per group with
 *   the receipts of all its events in one INSERT sent with the COMMIT (groupLanes, takeTogether):
 *   a BEGIN and a COMMIT, with its WAL flush, per group instead of per step. An event that fails
 *   there, or waits on a lock, rolls the group back; the group runs again without it, and it is
 *   taken on its own, as below. A receipt recorded elsewhere meanwhile rolls the group back too,
 *   and its events are taken one by one.
 * - **The checkpoint is a low-water mark**: every event up to it is done. It follows the batch
 *   every CHECKPOINT_FLUSH_MS and at its end, by a compare-and-set from where this process last
 *   put it (a reset or another process moving it makes this one read it again). Events done
 *   beyond it carry receipts and are passed over when read again.
 * - **Steps commit on their own.** When one event asks for several steps (OrderPlaced: schedule
 *   the deadline and reserve the credit), each but the last commits in its own transaction with a
 *   receipt of its own; a failing step leaves the others done, and a step that hangs (a lock held
 *   elsewhere) holds back no step before it: the deadline stands while the credit step waits. (All
 *   steps in one transaction would save a commit per such event; it was tried and dropped for that.)
 * - **Failures**: a database failure (classifyFailure: a cut connection, a deadlock) is retried
 *   without counting. A failing step is retried with a doubling delay, and its partition waits at
 *   that event (later events depend on it: the credit answer on the reservation); the others
 *   finish the batch. After `maxAttempts` it is parked (`parked_reactions`) and the reaction goes on.
 *
 * No transaction stays open across events, so a reaction never holds anything back for other
 * readers, and what it did up to a slow step is visible at once.
 *
 * Paused by an operator (subscription-pauses.ts), the read of its next batch returns nothing and
 * its checkpoint stays (the batch in flight, if any, is finished first); it looks again every
 * PAUSED_RECHECK_MS, or at once when resumed (`wake`).
 */
export class ReactionSubscription {
  private readonly logger: Logger;
  /** Each held segment's checkpoint as known without a query (see CheckpointTracker). */
  private readonly trackers = new Map<number, CheckpointTracker>();
  /** Batches run one after another, also when a test's catchUp meets the running loop. */
  private batches: Promise<unknown> = Promise.resolve();
  /** Each held segment's checkpoint as this process last read or wrote it (read again when missing). */
  private readonly positions = new Map<number, bigint>();
  /** The lease's epoch these positions belong to: a lost lease session makes them stale. */
  private leaseEpoch = -1;
  /** The head when the reaction came into being: it never reads what lies before. */
  private startsAfter = 0n;
  private readonly failedAttempts = new Map<string, number>();
  /** Database failures in a row per event (they are retried without counting, with a growing delay). */
  private readonly infrastructureRetries = new Map<string, number>();
  /** Partitions waiting at a failed event: when they may be tried again (ms since the epoch). */
  private readonly waitingPartitions = new Map<string, number>();
  /** Runs step after step; after a failed read it backs off 100 ms · 2^n, at most MAX_RETRY_DELAY_MS. */
  private readonly worker = new PollingWorker(() => this.step(), {
    intervalMs: 0,
    backoff: doublingBackoff(100, MAX_RETRY_DELAY_MS),
    onFailure: (error, failures, delay) => this.logger.error(`reading failed (attempt ${failures}), retrying in ${delay} ms: ${String(error)}`),
  });
  private stopping = false;
  /** Ends the wait of a paused reaction: a resume (wake), or stopping; remembered until the wait. */
  private readonly woken = new Latch();

  constructor(
    private readonly reaction: Reaction,
    private readonly dataSource: DataSource,
    private readonly sequencer: EventSequencer,
    private readonly transactions: TransactionContext,
    private readonly upcasters: EventUpcasters,
    private readonly options: ReactionSubscriptionOptions,
    private readonly lease: SegmentLease,
  ) {
    this.logger = new Logger(`Reaction:${reaction.subscriptionId}`);
    // A segment taken or lost: the loop looks at once.
    lease.changed.listen(() => sequencer.head.wake());
  }

  get subscriptionId(): string {
    return this.reaction.subscriptionId;
  }

  /** Starts reacting from the checkpoint DurableReactions created when the app was bootstrapped. */
  async start(): Promise<void> {
    this.positions.clear();
    this.stopping = false;
    this.worker.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const stopped = this.worker.stop();
    this.woken.raise();
    this.sequencer.head.wake();
    await stopped;
    await this.batches;
  }

  /** Looks at once whether it may go on (an operator resumed it, or asked for a retry): ends a wait, remembered if it is busy. */
  wake(): void {
    this.woken.raise();
    this.worker.wake();
  }

  /** Numbers what is committed, then takes events until none is left (tests). */
  async catchUp(): Promise<void> {
    await this.sequencer.sequencePending();
    this.positions.clear();
    for (;;) {
      const { taken, caughtUp, pauseMs, retryDueInMs, paused } = await this.processNextBatch();
      if (paused || (caughtUp && pauseMs === undefined)) return;
      if (pauseMs !== undefined || retryDueInMs !== undefined) throw new Error(`${this.subscriptionId} cannot catch up: ${taken} taken, then asked to wait`);
    }
  }

  /** Reads one batch and takes its events, partitions concurrently (see BatchOutcome). */
  processNextBatch(): Promise<BatchOutcome> {
    const batch = this.batches.then(() => this.processBatch());
    this.batches = batch.catch(() => undefined);
    return batch;
  }

  private async processBatch(): Promise<BatchOutcome> {
    const owned = await this.lease.beforeBatch();
    if (owned.length === 0) return { taken: 0, caughtUp: false, pauseMs: HELD_ELSEWHERE_PAUSE_MS };
    if (this.lease.epoch !== this.leaseEpoch) {
      this.positions.clear();
      this.leaseEpoch = this.lease.epoch;
    }
    for (const segment of [...this.positions.keys()]) if (!owned.includes(segment)) this.positions.delete(segment);
    // Segments newly held: whoever held them before may have moved their checkpoints.
    const unknown = owned.filter((segment) => !this.positions.has(segment));
    if (unknown.length > 0) await this.reload(unknown);
    const positionOf = (segment: number): bigint => this.positions.get(segment) ?? 0n;

    const { batchSize, chunkSize, concurrency } = this.options;
    // After a reset, still never before the reaction existed: nothing records what happened there.
    const lowest = owned.map(positionOf).reduce((a, b) => (b < a ? b : a));
    const readAfter = lowest > this.startsAfter ? lowest : this.startsAfter;
    // Only events not done yet: the window moves past what partitions did beyond a waiting one.
    const batch = await readReactionBatch(this.dataSource, this.subscriptionId, readAfter, this.reaction.eventTypes, batchSize);
    // Paused: nothing read, and the checkpoint must not follow the head.
    if (batch.paused) return { taken: 0, caughtUp: false, paused: true };
    const done = new Set<string>();
    const keyed = this.keyed(batch.events);
    const segmentAt = new Map(keyed.map(({ stored, segment }) => [stored.globalPosition, segment]));
    // This process's events: of its segments, beyond their checkpoints.
    const partitions = this.partition(
      keyed.filter(({ stored, segment }) => this.positions.has(segment) && BigInt(stored.globalPosition) > positionOf(segment)),
    );
    const now = Date.now();
    const lanes = partitions.filter(({ key }) => (this.waitingPartitions.get(key) ?? 0) <= now);
    const waiting = partitions.filter(({ key }) => (this.waitingPartitions.get(key) ?? 0) > now);

    let taken = 0;
    let stopped: number | undefined;
    let heldElsewhere = false;
    const stop = (ms: number) => (stopped = Math.min(stopped ?? ms, ms));
    const yieldToOtherProcess = () => {
      heldElsewhere = true;
      stop(HELD_ELSEWHERE_PAUSE_MS);
    };
    /** Takes a partition's events from `from` on; those before `aloneUntil` each on its own (a chunk gave them up). */
    const runLane = async ({ key, segment, events: lane }: Partition, from = 0, aloneUntil = from) => {
      for (let next = from; next < lane.length; ) {
        if (this.stopping) return stop(0);
        if (heldElsewhere || !this.lease.holds(segment)) return yieldToOtherProcess();
        // A backlog in this partition: its events together, in one transaction.
        if (next >= aloneUntil && lane.length - next > 1 && chunkSize > 1) {
          const chunk = lane.slice(next, next + chunkSize);
          const [{ took, alone }] = await this.takeTogether([chunk], STEP_LOCK_TIMEOUT_MS);
          for (const { stored } of chunk.slice(0, took)) done.add(stored.globalPosition);
          taken += took;
          next += took;
          aloneUntil = next + alone;
          if (took === chunk.length) continue;
          // The chunk stopped at this event, or gave up: taken on its own, with its retries.
        }
        const { stored, event } = lane[next];
        const outcome = await withLogContext(logContextOf(stored), () => this.take(stored, event));
        if (outcome.kind === 'retry-later') {
          // This partition waits at the event; the others go on, in this batch and the next.
          this.waitingPartitions.set(key, Date.now() + outcome.afterMs);
          return;
        }
        this.waitingPartitions.delete(key);
        done.add(stored.globalPosition);
        taken += 1;
        next += 1;
      }
    };
    /**
     * Partitions taken together: their first events (up to chunkSize in all) in one transaction,
     * then what is left of each, one partition after another (what the chunk gave up on its own).
     */
    const runGroup = async (group: Partition[]) => {
      if (this.stopping) return stop(0);
      if (heldElsewhere || group.some(({ segment }) => !this.lease.holds(segment))) return yieldToOtherProcess();
      const outcomes = await this.takeTogether(
        group.map(({ events }) => events.slice(0, chunkSize)),
        GROUP_LOCK_TIMEOUT_MS,
      );
      for (const [index, partition] of group.entries()) {
        const { took } = outcomes[index];
        for (const { stored } of partition.events.slice(0, took)) done.add(stored.globalPosition);
        taken += took;
        if (took > 0) this.waitingPartitions.delete(partition.key);
      }
      for (const [index, partition] of group.entries()) {
        const { took, alone } = outcomes[index];
        if (took < partition.events.length) await runLane(partition, took, took + alone);
      }
    };
    const groups = this.groupLanes(lanes);
    const runGroups = async () => {
      for (let group = groups.shift(); group; group = groups.shift()) {
        if (group.length === 1) await runLane(group[0]);
        else await runGroup(group);
      }
    };

    // A segment's low-water mark: every event of the reaction's types in the segment up to it is
    // done. The read passed over receipted events; events of other segments are not its business.
    const doneUpTo = (segment: number): bigint => {
      const at = positionOf(segment);
      for (const stored of batch.events) {
        if (segmentAt.get(stored.globalPosition) !== segment || BigInt(stored.globalPosition) <= at) continue;
        if (!done.has(stored.globalPosition)) return BigInt(stored.globalPosition) - 1n > at ? BigInt(stored.globalPosition) - 1n : at;
      }
      // Past what it had nothing (more) to do for: receipted events, and events of other types or segments.
      const last = batch.events.length > 0 ? BigInt(batch.events[batch.events.length - 1].globalPosition) : at;
      const upTo = batch.events.length < batchSize ? BigInt(batch.head) : last;
      return upTo > at ? upTo : at;
    };
    const moveCheckpoint = async (): Promise<boolean> => {
      let moved = true;
      for (const segment of [...this.positions.keys()]) {
        const at = positionOf(segment);
        const to = doneUpTo(segment);
        if (to <= at) continue;
        if (!(await advanceReactionCheckpoint(this.dataSource, this.subscriptionId, { segment, segments: this.lease.segments }, at, to))) {
          moved = false;
          continue;
        }
        this.positions.set(segment, to);
        this.tracker(segment).at(to);
      }
      return moved;
    };

    const startedAt = Date.now();
    const partitionsRun = lanes.length;
    let lanesRunning = true;
    const lanesDone = new Signal();
    const following = (async () => {
      while (lanesRunning && !(await lanesDone.wait(CHECKPOINT_FLUSH_MS))) {
        if (!(await moveCheckpoint())) yieldToOtherProcess();
      }
    })();
    let failure: PromiseRejectedResult | undefined;
    try {
      // Every lane ends before the batch does, also when one of them fails.
      const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, groups.length) }, runGroups));
      failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    } finally {
      lanesRunning = false;
      lanesDone.raise();
      await following;
    }
    if (failure) throw failure.reason;
    if (!(await moveCheckpoint())) yieldToOtherProcess();
    if (batch.events.length > 0) {
      this.logger.debug(`${taken} of ${batch.events.length} events taken in ${partitionsRun} partitions, ${Date.now() - startedAt} ms`);
    }
    // A reset, or another process that took over: read where the checkpoints really are.
    if (heldElsewhere) this.positions.clear();
    // Nothing could be done but wait for a partition whose retry is not due yet (or new events).
    const stillWaiting = [...waiting, ...partitions.filter(({ key }) => (this.waitingPartitions.get(key) ?? 0) > Date.now())];
    const retryDueInMs =
      stopped === undefined && taken === 0 && stillWaiting.length > 0
        ? Math.max(0, Math.min(...stillWaiting.map(({ key }) => this.waitingPartitions.get(key) ?? 0)) - Date.now())
        : undefined;
    return {
      taken,
      caughtUp: stopped === undefined && stillWaiting.length === 0 && batch.events.length < batchSize,
      pauseMs: stopped,
      retryDueInMs,
    };
  }

  /** Each event as an instance of its class, with its partition key and segment. */
  private keyed(events: ReactionEvent[]): Keyed[] {
    return events.map((stored) => {
      const event = this.decode(stored);
      const key = this.partitionKey(stored, event);
      return { stored, event, key, segment: segmentOf(key, this.lease.segments) };
    });
  }

  /** The events by partition key, each partition in commit order. */
  private partition(events: Keyed[]): Partition[] {
    const partitions = new Map<string, Partition>();
    for (const { stored, event, key, segment } of events) {
      const partition = partitions.get(key);
      if (partition) partition.events.push({ stored, event });
      else partitions.set(key, { key, segment, events: [{ stored, event }] });
    }
    return [...partitions.values()];
  }

  /**
   * The stored event, upcast, as its steps receive it; an UndecodableEvent when the reaction's
   * decode throws, or the event is of a schema version this code cannot read (UnreadableEventVersionError).
   */
  private decode(stored: StoredEvent): object | undefined {
    try {
      return this.reaction.decode(this.upcasters.upcast(stored));
    } catch (error) {
      withLogContext(logContextOf(stored), () =>
        this.logger.warn(`cannot read ${stored.eventType} ${stored.eventId} as the reaction declared it, its steps fail on it: ${describeError(error)}`),
      );
      return new UndecodableEvent(error);
    }
  }

  /** The reaction's key for the event; its stream when it has none or the key function fails. */
  private partitionKey(stored: ReactionEvent, event: object | undefined): string {
    if (event instanceof UndecodableEvent) return `stream:${stored.streamId}`;
    try {
      const key = event && this.reaction.partitionBy?.(event);
      if (key) return `key:${key}`;
    } catch (error) {
      withLogContext(logContextOf(stored), () =>
        this.logger.warn(`no partition key for ${stored.eventType} ${stored.eventId}, taken in its stream's order: ${describeError(error)}`),
      );
    }
    return `stream:${stored.streamId}`;
  }

  /**
   * Whether the reaction has come to the stored event `eventId`: taken it (a receipt, or behind
   * its checkpoint), or has it in the window of events it works on now, where its partition may
   * wait at an earlier event or its own step fail and be retried. False while the reaction is
   * paused or lags behind the event, or the event is not numbered yet; true for an event it does
   * not read (there is nothing to wait for).
   */
  async hasReached(eventId: string): Promise<boolean> {
    const [event]: Array<{ position: string | null; eventType: string; receipted: boolean }> = await this.dataSource.query(
      `SELECT global_position::text AS position, event_type AS "eventType",
              EXISTS (SELECT 1 FROM reaction_receipts r WHERE r.subscription_id = $2 AND r.event_id = $1) AS receipted
       FROM events WHERE event_id = $1`,
      [eventId, this.subscriptionId],
    );
    if (!event || !this.reaction.eventTypes.includes(event.eventType) || event.receipted) return true;
    if (event.position === null) return false;
    const [checkpoint]: Array<{ position: string | null; startsAfter: string | null }> = await this.dataSource.query(
      `SELECT min(global_position)::text AS position, min(starts_after)::text AS "startsAfter" FROM subscription_checkpoints WHERE subscription_id = $1`,
      [this.subscriptionId],
    );
    if (checkpoint.position === null || checkpoint.startsAfter === null) return false;
    const position = BigInt(event.position);
    // Where the reaction reads from (processBatch): its lowest checkpoint, never before it existed.
    const after = BigInt(checkpoint.position) > BigInt(checkpoint.startsAfter) ? BigInt(checkpoint.position) : BigInt(checkpoint.startsAfter);
    if (position <= after) return true;
    const { batchSize } = this.options;
    const window = await readReactionBatch(this.dataSource, this.subscriptionId, after, this.reaction.eventTypes, batchSize);
    if (window.paused) return false;
    return window.events.length < batchSize || BigInt(window.events[window.events.length - 1].globalPosition) >= position;
  }

  /**
   * Tries again the parked steps an operator asked for (`retry_requested_at`), each in its own
   * transaction: a success removes the parked row, a failure parks it again with the new error.
   * Returns how many it tried.
   */
  async retryRequested(): Promise<number> {
    const requested: Array<StoredEvent & { step: string }> = await this.dataSource.query(
      `SELECT parked.step, e.* FROM (
         SELECT step, event_id FROM parked_reactions
         WHERE reaction = $1 AND retry_requested_at IS NOT NULL
         ORDER BY event_position LIMIT 50
       ) AS parked
       JOIN LATERAL (SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE events.event_id = parked.event_id) AS e ON true`,
      [this.subscriptionId],
    );
    for (const { step: stepName, ...stored } of requested) {
      await withLogContext(logContextOf(stored), () => this.retryParked(stepName, stored));
    }
    return requested.length;
  }

  /** One parked step an operator asked to retry (see retryRequested). */
  private async retryParked(stepName: string, stored: StoredEvent): Promise<void> {
    const step = this.reaction.steps.find(({ name }) => name === stepName);
    try {
      await this.dataSource.transaction(async (transaction) => {
        const locked: unknown[] = await transaction.query(
          `SELECT 1 FROM parked_reactions WHERE reaction = $1 AND event_id = $2 AND step = $3 AND retry_requested_at IS NOT NULL
           FOR UPDATE SKIP LOCKED`,
          [this.subscriptionId, stored.eventId, stepName],
        );
        if (locked.length === 0) return;
        if (!step) throw new StepFailure(stepName, new Error(`the reaction has no step ${stepName}`));
        const event = this.decode(stored);
        const work = event ? await this.plan(step, event) : undefined;
        if (work) await this.transactions.run(transaction, () => this.runWork(step, work, stored));
        await transaction.query(`DELETE FROM parked_reactions WHERE reaction = $1 AND event_id = $2 AND step = $3`, [
          this.subscriptionId,
          stored.eventId,
          stepName,
        ]);
      });
      this.logger.log(`${stepName} of ${stored.eventType} ${stored.eventId} applied on retry; no longer parked`);
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
      await this.dataSource.query(
        `UPDATE parked_reactions SET attempts = attempts + 1, last_error = $4, retry_requested_at = NULL, parked_at = clock_timestamp()
         WHERE reaction = $1 AND event_id = $2 AND step = $3`,
        [this.subscriptionId, stored.eventId, stepName, describeError(error.error)],
      );
      this.logger.error(`${stepName} of ${stored.eventType} ${stored.eventId} failed again on retry and stays parked: ${describeError(error.error)}`);
    }
  }

  /**
   * Takes one event: its steps, a failing one retried later or parked. (A command that lost an
   * optimistic race was rerun already, by the CommandBus: see RunningCommands.)
   */
  private async take(stored: ReactionEvent, event: object | undefined): Promise<Outcome> {
    const done = new Set(stored.handledSteps);
    for (;;) {
      let outcome: Outcome;
      try {
        outcome = await this.attempt(stored, event, done);
      } catch (error) {
        if (!(error instanceof StepFailure)) throw error;
        // The database could not do its part (a cut connection, a deadlock, a restart): the step
        // is not at fault, so this is no attempt towards parking it (as in the consumer).
        if (classifyFailure(error.error) === 'infrastructure') {
          const retries = (this.infrastructureRetries.get(stored.eventId) ?? 0) + 1;
          this.infrastructureRetries.set(stored.eventId, retries);
          const afterMs = Math.min(MAX_RETRY_DELAY_MS, this.options.retryBaseMs * 2 ** (retries - 1));
          this.logger.warn(
            `${error.stepName} of ${stored.eventType} ${stored.eventId} met a database failure (a lock held over ${STEP_LOCK_TIMEOUT_MS} ms, ` +
              `a cut connection, a deadlock), retrying in ${afterMs} ms without counting it: ${describeError(error.error)}`,
          );
          return { kind: 'retry-later', afterMs };
        }
        const key = `${stored.eventId}/${error.stepName}`;
        const attempts = (this.failedAttempts.get(key) ?? 0) + 1;
        if (attempts < this.options.maxAttempts) {
          this.failedAttempts.set(key, attempts);
          const afterMs = Math.min(MAX_RETRY_DELAY_MS, this.options.retryBaseMs * 2 ** (attempts - 1));
          this.logger.warn(
            `${error.stepName} of ${stored.eventType} ${stored.eventId} failed (attempt ${attempts} of ${this.options.maxAttempts}), ` +
              `retrying in ${afterMs} ms: ${describeError(error.error)}`,
          );
          return { kind: 'retry-later', afterMs };
        }
        this.failedAttempts.delete(key);
        // Parked, or taken by another process meanwhile (then the event's receipt shows it done).
        await this.park(stored, error.stepName, attempts, error.error);
        done.add(error.stepName);
        continue;
      }
      if (outcome.kind === 'handled') {
        for (const step of this.reaction.steps) this.failedAttempts.delete(`${stored.eventId}/${step.name}`);
        this.infrastructureRetries.delete(stored.eventId);
      }
      return outcome;
    }
  }

  /** The work of each step not `done` yet that has something to do for the event. */
  private async planSteps(event: object | undefined, done: ReadonlySet<string>): Promise<Array<{ step: ReactionStep; work: ReactionWork }>> {
    const planned: Array<{ step: ReactionStep; work: ReactionWork }> = [];
    if (!event) return planned;
    for (const step of this.reaction.steps) {
      if (done.has(step.name)) continue;
      const work = await this.plan(step, event);
      if (work) planned.push({ step, work });
    }
    return planned;
  }

  /**
   * Lanes packed into groups, each taken in one transaction (see takeTogether): about as many
   * groups as run at once (`concurrency`), so that every connection has work, of at most
   * `chunkSize` events each. Under a light load every lane is a group of its own and each event
   * goes its usual way; under a heavy one, a group saves each of its events a BEGIN and a COMMIT
   * (with its WAL flush), and its receipts' round trip.
   */
  private groupLanes(lanes: readonly Partition[]): Partition[][] {
    const { chunkSize, concurrency } = this.options;
    if (chunkSize <= 1) return lanes.map((lane) => [lane]);
    const lanesPerGroup = Math.ceil(lanes.length / concurrency);
    const groups: Partition[][] = [];
    let group: Partition[] = [];
    let events = 0;
    for (const lane of lanes) {
      const size = Math.min(lane.events.length, chunkSize);
      if (group.length > 0 && (group.length >= lanesPerGroup || events + size > chunkSize)) {
        groups.push(group);
        group = [];
        events = 0;
      }
      group.push(lane);
      events += size;
    }
    if (group.length > 0) groups.push(group);
    return groups;
  }

  /**
   * Takes events together in one transaction, optimistically: `lanes` are partitions' events in
   * commit order (one partition's backlog, or the first events of several partitions). Each
   * event is planned and run inside the transaction, so that it sees what the ones before it
   * did; the receipts of them all are recorded at the end, in one INSERT that travels with the
   * COMMIT (ReceiptTransaction.commit). A receipt found there already (another process took an
   * event meanwhile, or in a transaction this one waited for) rolls the whole transaction back,
   * as does any database failure: every event of the chunk is then taken on its own (take), with
   * its receipts first, its retries and its parking.
   *
   * A lane stops before its first event whose plan or work fails, or waits for a lock longer
   * than `lockTimeoutMs` (so one member's wait holds back the others' commit for no longer).
   * With no savepoint to go back to, that rolls the whole transaction back; it is run once more
   * without that event and what follows it in its lane, and that event is taken on its own: the
   * other lanes go on for the price of one transaction run twice. A second failure gives up on
   * the chunk as above. An event some of whose steps committed on their own before (`handledSteps`)
   * stops its lane too, and goes its own way.
   *
   * Without savepoints the chunk takes no subtransaction ids, so none spill over the 64 a backend
   * caches (PGPROC_MAX_CACHED_SUBXIDS), after which every snapshot in the server looks them up in
   * pg_subtrans; what bounds chunkSize (REACTION_CHUNK_SIZE) is how long one transaction holds its
   * row locks, and how much work a rollback throws away.
   */
  private async takeTogether(lanes: ReadonlyArray<readonly PartitionedEvent[]>, lockTimeoutMs: number): Promise<LaneOutcome[]> {
    const cut = lanes.map((lane) => {
      const partlyDone = lane.findIndex(({ stored }) => stored.handledSteps.length > 0);
      return partlyDone === -1 ? lane.length : partlyDone;
    });
    const stoppedAt = () => lanes.map((lane, index) => ({ took: cut[index], alone: cut[index] < lane.length ? 1 : 0 }));
    for (let run = 1; run <= 2; run += 1) {
      const chunk = lanes.map((lane, index) => lane.slice(0, cut[index]));
      if (chunk.every((events) => events.length === 0)) return stoppedAt();
      const ran = await this.runChunk(chunk, lockTimeoutMs);
      if (ran.kind === 'committed') return stoppedAt();
      if (ran.kind !== 'step-failed' || run === 2) break;
      cut[ran.lane] = ran.index;
    }
    return lanes.map((lane) => ({ took: 0, alone: lane.length }));
  }

  /** One transaction of a chunk (see takeTogether): committed whole, or rolled back whole. */
  private async runChunk(lanes: ReadonlyArray<readonly PartitionedEvent[]>, lockTimeoutMs: number): Promise<ChunkRun> {
    let transaction: ReceiptTransaction;
    try {
      ({ transaction } = await ReceiptTransaction.begin(this.dataSource, this.subscriptionId, { lockTimeoutMs }));
    } catch {
      return { kind: 'rolled-back' };
    }
    const taken: Array<{ stored: ReactionEvent; ran: string[] }> = [];
    /** The event run just before, in this transaction. */
    let previous: { lane: number; index: number } | undefined;
    try {
      for (const [lane, events] of lanes.entries()) {
        for (const [index, { stored, event }] of events.entries()) {
          try {
            taken.push({ stored, ran: await withLogContext(logContextOf(stored), () => this.runInChunk(transaction, stored, event)) });
          } catch (error) {
            if (!(error instanceof StepFailure)) throw error;
            // Refused because the transaction was aborted already: most likely the event before
            // caught a failed statement and went on. Blamed on this one, that one would stay in
            // the run again and abort it as well. (If this one caught its own failure and went
            // on, it is blamed when it comes first in a later run.)
            if (previous && isPostgresError(error.error) && error.error.code === IN_FAILED_TRANSACTION) return { kind: 'step-failed', ...previous };
            return { kind: 'step-failed', lane, index };
          }
          previous = { lane, index };
        }
      }
      await transaction.commit(taken.map(({ stored, ran }) => ({ eventId: stored.eventId, steps: [WHOLE_EVENT, ...ran] })));
    } catch (error) {
      this.logger.debug(`${taken.length} events run together were rolled back, each is taken on its own: ${describeError(error)}`);
      return { kind: 'rolled-back' };
    } finally {
      await transaction.end();
    }
    for (const { stored, ran } of taken) withLogContext(logContextOf(stored), () => this.logTaken(stored, ran, taken.length));
    return { kind: 'committed' };
  }

  /**
   * One event of a chunk (runChunk), in the chunk's transaction: plans and runs its steps; returns
   * the names of those that had work to do (their receipts, with the whole event's, are recorded
   * at the commit).
   * @throws StepFailure when its plan or work fails (the chunk rolls back).
   */
  private async runInChunk(transaction: ReceiptTransaction, stored: ReactionEvent, event: object | undefined): Promise<string[]> {
    const planned = await this.transactions.run(transaction.manager, () => this.planSteps(event, new Set()));
    for (const { step, work } of planned) await this.transactions.run(transaction.manager, () => this.runWork(step, work, stored));
    return planned.map(({ step }) => step.name);
  }

  /** The debug line of an event taken (committed): which steps ran for it. */
  private logTaken(stored: ReactionEvent, steps: readonly string[], together = 1): void {
    const how = together > 1 ? ` (${together} events in one transaction)` : '';
    this.logger.debug(`took ${stored.eventType} ${stored.eventId}: ${steps.join(', ') || 'no step to run'}${how}`);
  }

  private async attempt(stored: ReactionEvent, event: object | undefined, done: Set<string>): Promise<Outcome> {
    const planned = await this.planSteps(event, done);
    const last = planned.pop();
    const { subscriptionId } = this;
    const { eventId } = stored;
    const lockTimeoutMs = STEP_LOCK_TIMEOUT_MS;
    const ran: string[] = [];
    for (const { step, work } of planned) {
      await inReceiptTransaction(this.dataSource, { subscriptionId, eventId, steps: [step.name], lockTimeoutMs }, async (recorded, transaction) => {
        if (recorded.length === 0) return;
        await this.transactions.run(transaction, () => this.runWork(step, work, stored));
        ran.push(step.name);
      }).catch(blameAbortOn(step.name));
      done.add(step.name);
    }
    // The last step's receipt too: a process that lost the lease and parks that step meanwhile
    // waits on it (see park). A receipt already there: taken elsewhere, not to be done again.
    const steps = last ? [WHOLE_EVENT, last.step.name] : [WHOLE_EVENT];
    await inReceiptTransaction(this.dataSource, { subscriptionId, eventId, steps, lockTimeoutMs }, async (recorded, transaction) => {
      if (last && recorded.includes(WHOLE_EVENT) && recorded.includes(last.step.name)) {
        await this.transactions.run(transaction, () => this.runWork(last.step, last.work, stored));
        ran.push(last.step.name);
      }
    }).catch(blameAbortOn(last?.step.name ?? WHOLE_EVENT));
    this.logTaken(stored, ran);
    return { kind: 'handled' };
  }

  private async plan(step: ReactionStep, event: object): Promise<ReactionWork | undefined> {
    if (event instanceof UndecodableEvent) throw new StepFailure(step.name, event.error);
    try {
      const work = await step.plan(event);
      return work && inStepSpan(this.subscriptionId, step.name, event, work);
    } catch (error) {
      throw new StepFailure(step.name, error);
    }
  }

  /** Runs a step's work; the commands it sends are caused by `stored` (causeOf). */
  private async runWork(step: ReactionStep, work: ReactionWork, stored: Pick<StoredEvent, 'eventId' | 'metadata'>): Promise<void> {
    try {
      await inReactionStep({ reaction: this.subscriptionId, step: step.name }, causeOf(stored), work);
    } catch (error) {
      throw new StepFailure(step.name, error);
    }
  }

  /**
   * Sets the step aside for an operator; its receipt keeps it from running again on its own.
   * Not when another process (this one lost its lease) took the event or did the step meanwhile:
   * parking it then would let an operator's retry act on it a second time. The step's receipt
   * decides, written here and by every transaction that does the step: a transaction doing it
   * now makes this one wait for its end. Returns whether it parked the step.
   */
  private async park(stored: ReactionEvent, stepName: string, attempts: number, error: unknown): Promise<boolean> {
    const parked = await this.dataSource.transaction(async (transaction) => {
      if ((await recordReceipts(transaction, this.subscriptionId, stored.eventId, [stepName])).length === 0) return false;
      const [{ taken }] = await transaction.query(
        `SELECT EXISTS (SELECT 1 FROM reaction_receipts WHERE subscription_id = $1 AND event_id = $2 AND step = '${WHOLE_EVENT}') AS taken`,
        [this.subscriptionId, stored.eventId],
      );
      if (taken) return false;
      await transaction.query(
        `INSERT INTO parked_reactions (reaction, step, event_id, event_position, stream_id, event_type, attempts, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (reaction, event_id, step) DO UPDATE
           SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, parked_at = clock_timestamp()`,
        [this.subscriptionId, stepName, stored.eventId, stored.position, stored.streamId, stored.eventType, attempts, describeError(error)],
      );
      return true;
    });
    if (!parked) {
      this.logger.warn(`${stepName} of ${stored.eventType} ${stored.eventId} failed here, but another process took it meanwhile: not parked`);
      return false;
    }
    this.logger.error(
      `${stepName} of ${stored.eventType} ${stored.eventId} (stream ${stored.streamId}) parked after ${attempts} attempts: ${describeError(error)}`,
    );
    return true;
  }

  /** Reads where the given segments' checkpoints stand. */
  private async reload(segments: readonly number[]): Promise<void> {
    for (const { segment, position, startsAfter } of await loadSegmentCheckpoints(this.dataSource, this.subscriptionId, this.lease.segments, segments)) {
      this.positions.set(segment, position);
      this.startsAfter = startsAfter;
      this.tracker(segment).at(position);
    }
  }

  private tracker(segment: number): CheckpointTracker {
    let tracker = this.trackers.get(segment);
    if (!tracker) {
      tracker = new CheckpointTracker(segmentKey(this.subscriptionId, segment, this.lease.segments), this.sequencer.head);
      this.trackers.set(segment, tracker);
    }
    return tracker;
  }

  /** Whether events beyond the checkpoint of a segment held here are (known to be) numbered. */
  private behind(): boolean {
    return this.lease.releasing || [...this.lease.held].some((segment) => this.tracker(segment).behind());
  }

  /** One turn: waits while caught up, else takes a batch; returns the pause before the next turn. */
  private async step(): Promise<number> {
    // A safety poll saw a checkpoint behind this process's idea of it: reset by an operator.
    for (const [segment, position] of this.positions) if (this.tracker(segment).checkpoint < position) this.positions.delete(segment);
    if (!this.behind()) {
      while (!this.stopping && !this.behind()) await this.sequencer.head.changed(IDLE_RECHECK_MS);
      if (this.options.gatherMs > 0 && !this.stopping) await this.worker.pause(this.options.gatherMs);
      return 0;
    }
    const { caughtUp, pauseMs, retryDueInMs, paused } = await this.processNextBatch();
    if (paused) {
      if (!this.stopping) await this.woken.take(PAUSED_RECHECK_MS);
      return 0;
    }
    if (pauseMs !== undefined) return pauseMs;
    if (retryDueInMs !== undefined) {
      await this.sequencer.head.changed(retryDueInMs);
      return 0;
    }
    if (caughtUp && this.options.gatherMs > 0) return this.options.gatherMs;
    return 0;
  }
}
