import type { DataSource, EntityManager } from 'typeorm';
import { SequencedEvent, STORED_EVENT_COLUMNS } from '../stored-event';
import { BEGINNING_OF_STORE, Checkpoint, sequencedEventsAfter } from '../subscription/committed-events';

export { BEGINNING_OF_STORE };

/** Whether `a` comes before `b` in commit order (global positions, compared as numbers). */
export function isBefore(a: Checkpoint, b: Checkpoint): boolean {
  return BigInt(a.globalPosition) < BigInt(b.globalPosition);
}

export function checkpointOf(event: SequencedEvent): Checkpoint {
  return { globalPosition: event.globalPosition };
}

/**
 * Reads a subscription's checkpoint and locks its row until the transaction ends. Its projector
 * takes the row `FOR UPDATE SKIP LOCKED`, so it finishes the batch it is applying and then pauses.
 */
export async function lockCheckpoint(db: EntityManager, subscriptionId: string): Promise<Checkpoint> {
  const [checkpoint] = await db.query(
    `SELECT global_position::text AS "globalPosition" FROM subscription_checkpoints WHERE subscription_id = $1 FOR UPDATE`,
    [subscriptionId],
  );
  if (!checkpoint) throw new Error(`subscription ${subscriptionId} has no checkpoint`);
  return checkpoint;
}

/** Committed events after `after` up to and including `upTo`, in commit order, at most `limit`. */
export function readCommittedEventsBetween(
  db: DataSource | EntityManager,
  after: Checkpoint,
  upTo: Checkpoint,
  limit: number,
): Promise<SequencedEvent[]> {
  return db.query(
    `SELECT ${STORED_EVENT_COLUMNS} FROM (${sequencedEventsAfter('$1::bigint', '$3')}) AS events
     WHERE events.global_position <= $2::bigint
     ORDER BY events.global_position`,
    [after.globalPosition, upTo.globalPosition, limit],
  );
}
