import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TransactionContext } from '../../database/transaction-context';
import { ConcurrencyConflictError } from '../../shared/domain-error';
import { classifyFailure } from '../../shared/failure-classification';
import { describeError } from '../subscription/subscription-failures';
import { CheckpointTracker } from '../sequencing/event-store-head';
import type { EventSequencer } from '../sequencing/event-sequencer';
import { Signal } from '../sequencing/signal';
import { StoredEvent, STORED_EVENT_COLUMNS } from '../stored-event';
import type { EventUpcasters } from '../upcasting/event-upcasters';
import type { DomainEventClasses } from './domain-event-classes';
import type { Reaction, ReactionStep, ReactionWork } from './reaction';
import {
  advanceReactionCheckpoint,
  claimEvent,
  loadReactionCheckpoint,
  ReactionEvent,
  readReactionBatch,
  recordStepReceipt,
  WHOLE_EVENT,
} from './reaction-receipts';

export interface ReactionSubscriptionOptions {
  /** Events read per query (each is still taken in its own transaction). */
  batchSize: number;
  /** How long a woken reaction waits for more events before it reads. */
  gatherMs: number;
  /** Attempts of one step on one event before it is parked. */
  maxAttempts: number;
  /** Delay after a step's first failure; it doubles with every further one. */
  retryBaseMs: number;
}

/** A lost optimistic race is retried at once: it says nothing about the reaction being broken. */
const CONFLICT_RETRIES = 5;
/** How long a process that found the reaction taken by another one waits before it looks again. */
const HELD_ELSEWHERE_PAUSE_MS = 500;
/** How long an idle reaction sleeps between looks at the in-memory head (no query). */
const IDLE_RECHECK_MS = 60_000;
const MAX_RETRY_DELAY_MS = 30_000;

type Outcome = { kind: 'handled' } | { kind: 'held-elsewhere' } | { kind: 'retry-later'; afterMs: number };

/** A step's own failure (its plan or its work), as opposed to the database failing under us. */
class StepFailure {
  constructor(
    readonly stepName: string,
    readonly error: unknown,
  ) {}
}

/**
 * Delivers the events of a reaction's types, in commit order, each in its own short transaction
 * in which the effect and the fact that the reaction took the event commit together:
 *
 * - **Claim**: the transaction moves the checkpoint from where this process last saw it to the
 *   event (`FOR UPDATE SKIP LOCKED`: a checkpoint another process holds or moved is not taken,
 *   and this one steps back) and writes the event's receipt (`reaction_receipts`).
 * - **Receipts make every step idempotent per causing event**, whatever the aggregates' state:
 *   an event already receipted is passed over, so a checkpoint reset to the beginning, or two
 *   processes racing, repeat nothing. The checkpoint is only where to resume reading.
 * - **Steps commit on their own.** When one event asks for several steps (OrderPlaced: schedule
 *   the deadline and reserve the credit), each but the last commits in its own transaction with a
 *   receipt of its own; a failing step leaves the others done, and a step that hangs (a lock held
 *   elsewhere) holds back no step before it: the deadline stands while the credit step waits. (All
 *   steps in one transaction would save a commit per such event; it was tried and dropped for that.)
 * - **Failures**: a database failure (classifyFailure: a cut connection, a deadlock) is retried
 *   without counting. A failing step is retried with a doubling delay, and the reaction waits at
 *   that event (later events depend on it: the credit answer on the reservation). After
 *   `maxAttempts` it is parked (`parked_reactions`) and the reaction goes on.
 *
 * No transaction stays open across events, so a reaction never holds anything back for other
 * readers, and what it did up to a slow step is visible at once.
 */
export class ReactionSubscription {
  private readonly logger: Logger;
  private readonly tracker: CheckpointTracker;
  /** The checkpoint as this process last read or wrote it. */
  private position = 0n;
  /** The head when the reaction came into being: it never reads what lies before. */
  private startsAfter = 0n;
  private readonly failedAttempts = new Map<string, number>();
  private running?: Promise<void>;
  private stopping = false;
  private readonly stopSignal = new Signal();

  constructor(
    private readonly reaction: Reaction,
    private readonly dataSource: DataSource,
    private readonly sequencer: EventSequencer,
    private readonly eventClasses: DomainEventClasses,
    private readonly transactions: TransactionContext,
    private readonly upcasters: EventUpcasters,
    private readonly options: ReactionSubscriptionOptions,
  ) {
    this.logger = new Logger(`Reaction:${reaction.subscriptionId}`);
    this.tracker = new CheckpointTracker(reaction.subscriptionId, sequencer.head);
  }

  get subscriptionId(): string {
    return this.reaction.subscriptionId;
  }

  /** Starts reacting from the checkpoint DurableReactions created when the app was bootstrapped. */
  async start(): Promise<void> {
    await this.reload();
    this.stopping = false;
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopSignal.raise();
    this.sequencer.head.wake();
    await this.running;
  }

  /** Numbers what is committed, then takes events until none is left (tests). */
  async catchUp(): Promise<void> {
    await this.sequencer.sequencePending();
    await this.reload();
    for (;;) {
      const { taken, caughtUp, pauseMs } = await this.processNextBatch();
      if (caughtUp && pauseMs === undefined) return;
      if (pauseMs !== undefined) throw new Error(`${this.subscriptionId} cannot catch up: ${taken} taken, then asked to wait`);
    }
  }

  /**
   * Reads one batch and takes its events one by one. `pauseMs`: stopped at an event to retry
   * later, or found the reaction held by another process. `caughtUp`: nothing of its types is left.
   */
  async processNextBatch(): Promise<{ taken: number; caughtUp: boolean; pauseMs?: number }> {
    const { batchSize } = this.options;
    // After a reset, still never before the reaction existed: nothing records what happened there.
    const readAfter = this.position > this.startsAfter ? this.position : this.startsAfter;
    const batch = await readReactionBatch(this.dataSource, this.subscriptionId, readAfter, this.reaction.eventTypes, batchSize);
    let taken = 0;
    for (const stored of batch.events) {
      if (this.stopping) return { taken, caughtUp: false, pauseMs: 0 };
      // Receipted already: taken before a checkpoint reset, or by another process just now.
      if (stored.handledSteps.includes(WHOLE_EVENT)) continue;
      const outcome = await this.take(this.upcasters.upcast(stored));
      if (outcome.kind === 'held-elsewhere') {
        await this.reload();
        return { taken, caughtUp: false, pauseMs: HELD_ELSEWHERE_PAUSE_MS };
      }
      if (outcome.kind === 'retry-later') return { taken, caughtUp: false, pauseMs: outcome.afterMs };
      this.position = BigInt(stored.globalPosition);
      taken += 1;
    }

    // Past what it had nothing (more) to do for: receipted events, and events of other types.
    const caughtUp = batch.events.length < batchSize;
    const seenUpTo = caughtUp ? BigInt(batch.head) : BigInt(batch.events[batch.events.length - 1].globalPosition);
    if (seenUpTo > this.position) {
      if (!(await advanceReactionCheckpoint(this.dataSource, this.subscriptionId, this.position, seenUpTo))) {
        await this.reload();
        return { taken, caughtUp: false, pauseMs: HELD_ELSEWHERE_PAUSE_MS };
      }
      this.position = seenUpTo;
    }
    this.tracker.at(this.position);
    return { taken, caughtUp };
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
    for (const { step: stepName, ...row } of requested) {
      const stored = this.upcasters.upcast(row);
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
          const event = this.eventClasses.instantiate(stored);
          const work = event ? await this.plan(step, event) : undefined;
          if (work) await this.transactions.run(transaction, () => this.runWork(step, work));
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
    return requested.length;
  }

  /** Takes one event: its steps, each retried on a lost optimistic race, a failing one retried later or parked. */
  private async take(stored: ReactionEvent): Promise<Outcome> {
    const event = this.eventClasses.instantiate(stored);
    const done = new Set(stored.handledSteps);
    for (let conflicts = 0; ; ) {
      let outcome: Outcome;
      try {
        outcome = await this.attempt(stored, event, done);
      } catch (error) {
        if (!(error instanceof StepFailure)) throw error;
        if (error.error instanceof ConcurrencyConflictError && conflicts < CONFLICT_RETRIES) {
          conflicts += 1;
          continue;
        }
        // The database could not do its part (a cut connection, a deadlock, a restart): the step
        // is not at fault, so this is no attempt towards parking it (as in the consumer).
        if (classifyFailure(error.error) === 'infrastructure') {
          this.logger.warn(`${error.stepName} of ${stored.eventType} ${stored.eventId} met a database failure, retrying: ${describeError(error.error)}`);
          return { kind: 'retry-later', afterMs: this.options.retryBaseMs };
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
        // Another process took the event (or this step of it) meanwhile: nothing to set aside.
        if (!(await this.park(stored, error.stepName, attempts, error.error))) return { kind: 'held-elsewhere' };
        done.add(error.stepName);
        continue;
      }
      if (outcome.kind === 'handled') for (const step of this.reaction.steps) this.failedAttempts.delete(`${stored.eventId}/${step.name}`);
      return outcome;
    }
  }

  private async attempt(stored: ReactionEvent, event: object | undefined, done: Set<string>): Promise<Outcome> {
    const planned: Array<{ step: ReactionStep; work: ReactionWork }> = [];
    if (event) {
      for (const step of this.reaction.steps) {
        if (done.has(step.name)) continue;
        const work = await this.plan(step, event);
        if (work) planned.push({ step, work });
      }
    }
    const last = planned.pop();
    for (const { step, work } of planned) {
      await this.dataSource.transaction(async (transaction) => {
        if (await recordStepReceipt(transaction, this.subscriptionId, stored.eventId, step.name)) {
          await this.transactions.run(transaction, () => this.runWork(step, work));
        }
      });
      done.add(step.name);
    }
    const claim = await this.dataSource.transaction(async (transaction) => {
      const claimed = await claimEvent(transaction, this.subscriptionId, this.position, stored);
      if (claimed.claimed && claimed.firstTime && last) await this.transactions.run(transaction, () => this.runWork(last.step, last.work));
      return claimed;
    });
    return claim.claimed ? { kind: 'handled' } : { kind: 'held-elsewhere' };
  }

  private async plan(step: ReactionStep, event: object): Promise<ReactionWork | undefined> {
    try {
      return await step.plan(event);
    } catch (error) {
      throw new StepFailure(step.name, error);
    }
  }

  private async runWork(step: ReactionStep, work: ReactionWork): Promise<void> {
    try {
      await work();
    } catch (error) {
      throw new StepFailure(step.name, error);
    }
  }

  /**
   * Sets the step aside for an operator; its receipt keeps it from running again on its own.
   * Only while this process still holds the event: the checkpoint where it last saw it (locked,
   * waiting for a claim in flight), no receipt of the whole event, none of the step. Otherwise
   * another process took the event or the step meanwhile (or parked it), and parking it here would
   * let an operator's retry act on it a second time. Returns whether it parked the step.
   */
  private async park(stored: ReactionEvent, stepName: string, attempts: number, error: unknown): Promise<boolean> {
    const parked = await this.dataSource.transaction(async (transaction) => {
      const [held] = await transaction.query(
        `SELECT NOT EXISTS (SELECT 1 FROM reaction_receipts WHERE subscription_id = $1 AND event_id = $3 AND step = '${WHOLE_EVENT}') AS "open"
         FROM subscription_checkpoints WHERE subscription_id = $1 AND global_position = $2
         FOR UPDATE`,
        [this.subscriptionId, this.position.toString(), stored.eventId],
      );
      if (!held?.open) return false;
      if (!(await recordStepReceipt(transaction, this.subscriptionId, stored.eventId, stepName))) return false;
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

  private async reload(): Promise<void> {
    ({ position: this.position, startsAfter: this.startsAfter } = await loadReactionCheckpoint(this.dataSource, this.subscriptionId));
    this.tracker.at(this.position);
  }

  private async run(): Promise<void> {
    let consecutiveFailures = 0;
    while (!this.stopping) {
      try {
        // A safety poll saw the checkpoint behind this process's idea of it: reset by an operator.
        if (this.tracker.checkpoint < this.position) await this.reload();
        if (!this.tracker.behind()) {
          await this.tracker.waitUntilBehind(() => this.stopping, IDLE_RECHECK_MS);
          if (this.options.gatherMs > 0 && !this.stopping) await this.pause(this.options.gatherMs);
          continue;
        }
        const { caughtUp, pauseMs } = await this.processNextBatch();
        consecutiveFailures = 0;
        if (pauseMs !== undefined) await this.pause(pauseMs);
        else if (caughtUp && this.options.gatherMs > 0) await this.pause(this.options.gatherMs);
      } catch (error) {
        if (this.stopping) break;
        consecutiveFailures += 1;
        const delay = Math.min(MAX_RETRY_DELAY_MS, 100 * 2 ** consecutiveFailures);
        this.logger.error(`reading failed (attempt ${consecutiveFailures}), retrying in ${delay} ms: ${String(error)}`);
        await this.pause(delay);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    if (!this.stopping) await this.stopSignal.wait(ms);
  }
}
