import { Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { TransactionContext } from '../../database/transaction-context';
import { ConcurrencyConflictError } from '../../shared/domain-error';
import { STORED_EVENT_COLUMNS, StoredEvent } from '../stored-event';
import type { EventUpcasters } from '../upcasting/event-upcasters';
import type { BatchOutcome } from '../subscription/checkpointed-subscription';
import { DomainEventClasses } from './domain-event-classes';
import type { Reaction } from './reaction';

export interface ReactionRetryPolicy {
  /** Attempts of one event before it is parked. */
  maxAttempts: number;
  /** Delay after the first failure; it doubles with every further one. */
  retryBaseMs: number;
}

/** A lost optimistic race is retried at once: it says nothing about the reaction being broken. */
const CONFLICT_RETRIES = 5;

/**
 * Applies one reaction to a batch of stored events inside the subscription's transaction, so the
 * effect and the checkpoint commit together: after a crash the batch runs again and nothing has
 * half happened. Each event's effect sits in a savepoint; a failure rolls back that event only.
 * The events before it commit, the failing one is retried with a growing delay, and after
 * `maxAttempts` it is parked (recorded in `parked_reactions`, logged) so later events go on.
 */
export class ReactionRunner {
  private readonly logger: Logger;
  private readonly failedAttempts = new Map<string, number>();

  constructor(
    private readonly reaction: Reaction,
    private readonly eventClasses: DomainEventClasses,
    private readonly transactions: TransactionContext,
    private readonly policy: ReactionRetryPolicy,
    private readonly upcasters: EventUpcasters,
  ) {
    this.logger = new Logger(`Reaction:${reaction.name}`);
  }

  get name(): string {
    return this.reaction.name;
  }

  async handle(events: StoredEvent[], transaction: EntityManager): Promise<BatchOutcome> {
    let appended = false;
    for (const [index, stored] of events.entries()) {
      const event = this.eventClasses.instantiate(stored);
      if (!event) continue;
      const outcome = await this.attempt(event, transaction);
      if (outcome === 'nothing-to-do') continue;
      if (outcome === 'done') {
        this.failedAttempts.delete(stored.eventId);
        appended = true;
        continue;
      }

      const attempts = (this.failedAttempts.get(stored.eventId) ?? 0) + 1;
      if (attempts >= this.policy.maxAttempts) {
        this.failedAttempts.delete(stored.eventId);
        await this.park(stored, attempts, outcome.error, transaction);
        continue;
      }
      this.failedAttempts.set(stored.eventId, attempts);
      const retryAfterMs = this.policy.retryBaseMs * 2 ** (attempts - 1);
      this.logger.warn(
        `${stored.eventType} ${stored.eventId} failed (attempt ${attempts} of ${this.policy.maxAttempts}), ` +
          `retrying in ${retryAfterMs} ms: ${describe(outcome.error)}`,
      );
      return { handled: index, retryAfterMs, appended };
    }
    return { handled: events.length, appended };
  }

  /**
   * Tries again the parked events an operator asked for (`retry_requested_at`): a success removes
   * the parked row, a failure parks it again with the new error. Returns how many it tried.
   */
  async retryRequested(transaction: EntityManager): Promise<number> {
    const requested: StoredEvent[] = await transaction.query(
      `SELECT ${STORED_EVENT_COLUMNS} FROM events
       WHERE event_id IN (
         SELECT event_id FROM parked_reactions
         WHERE reaction = $1 AND retry_requested_at IS NOT NULL
         ORDER BY event_position LIMIT 50 FOR UPDATE SKIP LOCKED
       )
       ORDER BY position`,
      [this.reaction.name],
    );
    for (const stored of this.upcasters.upcastAll(requested)) {
      const event = this.eventClasses.instantiate(stored);
      const outcome = event ? await this.attempt(event, transaction) : 'nothing-to-do';
      if (outcome === 'done' || outcome === 'nothing-to-do') {
        await transaction.query(`DELETE FROM parked_reactions WHERE reaction = $1 AND event_id = $2`, [this.reaction.name, stored.eventId]);
        this.logger.log(`${stored.eventType} ${stored.eventId} applied on retry; no longer parked`);
      } else {
        await transaction.query(
          `UPDATE parked_reactions SET attempts = attempts + 1, last_error = $3, retry_requested_at = NULL, parked_at = clock_timestamp()
           WHERE reaction = $1 AND event_id = $2`,
          [this.reaction.name, stored.eventId, describe(outcome.error)],
        );
        this.logger.error(`${stored.eventType} ${stored.eventId} failed again on retry and stays parked: ${describe(outcome.error)}`);
      }
    }
    return requested.length;
  }

  private async attempt(event: object, transaction: EntityManager): Promise<'done' | 'nothing-to-do' | { error: unknown }> {
    for (let conflicts = 0; ; conflicts += 1) {
      let work: (() => Promise<void>) | undefined;
      try {
        // Planning reads committed state on its own connection: a failed read must not abort
        // the batch's transaction, and most events need no savepoint because nothing follows.
        work = await this.reaction.plan(event);
      } catch (error) {
        return { error };
      }
      if (!work) return 'nothing-to-do';

      await transaction.query('SAVEPOINT reaction');
      try {
        await this.transactions.run(transaction, work);
        await transaction.query('RELEASE SAVEPOINT reaction');
        return 'done';
      } catch (error) {
        await transaction.query('ROLLBACK TO SAVEPOINT reaction');
        if (!(error instanceof ConcurrencyConflictError) || conflicts >= CONFLICT_RETRIES) return { error };
      }
    }
  }

  private async park(stored: StoredEvent, attempts: number, error: unknown, transaction: EntityManager): Promise<void> {
    await transaction.query(
      `INSERT INTO parked_reactions (reaction, event_id, event_position, stream_id, event_type, attempts, last_error)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (reaction, event_id) DO UPDATE
         SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, parked_at = clock_timestamp()`,
      [this.reaction.name, stored.eventId, stored.position, stored.streamId, stored.eventType, attempts, describe(error)],
    );
    this.logger.error(
      `${stored.eventType} ${stored.eventId} of stream ${stored.streamId} parked after ${attempts} attempts: ${describe(error)}`,
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
