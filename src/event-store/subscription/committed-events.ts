import type { EntityManager, DataSource } from 'typeorm';
import { STORED_EVENT_COLUMNS, StoredEvent } from '../stored-event';

export interface Checkpoint {
  transactionId: string;
  position: string;
}

/**
 * The one place of the safe-read rule: events after the checkpoint `(afterTransactionId,
 * afterPosition)`, in commit order, never one whose transaction might still be running (see
 * CheckpointedSubscription for why the position alone is not enough). Both arguments are SQL
 * expressions, so callers can pass placeholders or columns.
 */
export function committedEventsAfter(afterTransactionId: string, afterPosition: string, limit: string): string {
  return `SELECT * FROM events
    WHERE (events.transaction_id, events.position) > (${afterTransactionId}, ${afterPosition})
      AND events.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.transaction_id, events.position
    LIMIT ${limit}`;
}

export function readCommittedEventsAfter(db: DataSource | EntityManager, checkpoint: Checkpoint, limit: number): Promise<StoredEvent[]> {
  return db.query(
    `SELECT ${STORED_EVENT_COLUMNS} FROM (${committedEventsAfter('$1::xid8', '$2::bigint', '$3')}) AS events
     ORDER BY events.transaction_id, events.position`,
    [checkpoint.transactionId, checkpoint.position, limit],
  );
}

/** Creates the checkpoint at the beginning of the store unless it exists already. */
export async function ensureCheckpoint(db: DataSource | EntityManager, name: string): Promise<void> {
  await db.query(`INSERT INTO subscription_checkpoints (subscription_id) VALUES ($1) ON CONFLICT DO NOTHING`, [name]);
}

/** The checkpoint's position; it must exist (see ensureCheckpoint). */
export async function loadCheckpoint(db: DataSource | EntityManager, name: string): Promise<Checkpoint> {
  const [row] = await db.query(
    `SELECT transaction_id::text AS "transactionId", position::text AS position FROM subscription_checkpoints WHERE subscription_id = $1`,
    [name],
  );
  return row;
}

/** Moves the checkpoint forward only: a late writer can never move it back. */
export async function advanceCheckpoint(db: DataSource | EntityManager, name: string, to: Checkpoint): Promise<void> {
  await db.query(
    `UPDATE subscription_checkpoints SET transaction_id = $2::xid8, position = $3::bigint, updated_at = now()
     WHERE subscription_id = $1 AND (transaction_id, position) < ($2::xid8, $3::bigint)`,
    [name, to.transactionId, to.position],
  );
}

/** How many committed events lie beyond the checkpoint. */
export async function countEventsAfter(db: DataSource | EntityManager, name: string): Promise<number> {
  const [row] = await db.query(
    `SELECT count(e.*)::int AS lag FROM subscription_checkpoints c
     LEFT JOIN events e ON (e.transaction_id, e.position) > (c.transaction_id, c.position)
     WHERE c.subscription_id = $1`,
    [name],
  );
  return row?.lag ?? 0;
}
