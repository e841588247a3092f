import type { EntityManager, DataSource } from 'typeorm';
import { STORED_EVENT_COLUMNS, StoredEvent } from '../stored-event';

export interface Checkpoint {
  transactionId: string;
  position: string;
}

/**
 * Events committed after `checkpoint`, in commit order, never one whose transaction might still
 * be running (see CheckpointedSubscription for why the position alone is not enough).
 */
export function readCommittedEventsAfter(db: DataSource | EntityManager, checkpoint: Checkpoint, limit: number): Promise<StoredEvent[]> {
  return db.query(
    `SELECT ${STORED_EVENT_COLUMNS} FROM events
     WHERE (events.transaction_id, events.position) > ($1::xid8, $2::bigint)
       AND events.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
     ORDER BY events.transaction_id, events.position
     LIMIT $3`,
    [checkpoint.transactionId, checkpoint.position, limit],
  );
}

export async function loadCheckpoint(db: DataSource | EntityManager, name: string): Promise<Checkpoint> {
  await db.query(`INSERT INTO subscription_checkpoints (subscription_id) VALUES ($1) ON CONFLICT DO NOTHING`, [name]);
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
