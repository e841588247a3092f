import type { DataSource, EntityManager } from 'typeorm';
import { STORED_EVENT_COLUMNS, StoredEvent } from '../stored-event';
import { Checkpoint, committedEventsAfter } from '../subscription/committed-events';

export const BEGINNING_OF_STORE: Checkpoint = { transactionId: '0', position: '0' };

/** Whether `a` comes before `b` in commit order. */
export function isBefore(a: Checkpoint, b: Checkpoint): boolean {
  const [aTransaction, bTransaction] = [BigInt(a.transactionId), BigInt(b.transactionId)];
  return aTransaction < bTransaction || (aTransaction === bTransaction && BigInt(a.position) < BigInt(b.position));
}

export function checkpointOf(event: StoredEvent): Checkpoint {
  return { transactionId: event.transactionId, position: event.position };
}

/**
 * Reads a subscription's checkpoint and locks its row until the transaction ends. Its projector
 * takes the row `FOR UPDATE SKIP LOCKED`, so it finishes the batch it is applying and then pauses.
 */
export async function lockCheckpoint(db: EntityManager, subscriptionId: string): Promise<Checkpoint> {
  const [checkpoint] = await db.query(
    `SELECT transaction_id::text AS "transactionId", position::text AS position
     FROM subscription_checkpoints WHERE subscription_id = $1 FOR UPDATE`,
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
): Promise<StoredEvent[]> {
  return db.query(
    `SELECT ${STORED_EVENT_COLUMNS} FROM (${committedEventsAfter('$1::xid8', '$2::bigint', '$5')}) AS events
     WHERE (events.transaction_id, events.position) <= ($3::xid8, $4::bigint)
     ORDER BY events.transaction_id, events.position`,
    [after.transactionId, after.position, upTo.transactionId, upTo.position, limit],
  );
}
