import { Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { TransactionContext } from '../../database/transaction-context';
import { ConcurrencyConflictError } from '../../shared/domain-error';
import type { StoredEvent } from '../stored-event';
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
  ) {
    this.logger = new Logger(`Reaction:${reaction.name}`);
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
