import type { DataSource, EntityManager } from 'typeorm';
import { SequencedEvent, STORED_EVENT_COLUMNS } from '../stored-event';
import { BEGINNING_OF_STORE, Checkpoint, sequencedEventsAfter } from '../subscription/committed-events';
import { segmentOf } from '../segments/segments';

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
 * Split into segments: locks every segment's row and returns the lowest (see livePositions).
 */
export async function lockCheckpoint(db: EntityManager, subscriptionId: string): Promise<Checkpoint> {
  const [checkpoint] = await db.query(
    `SELECT min(global_position)::text AS "globalPosition" FROM (
       SELECT global_position FROM subscription_checkpoints WHERE subscription_id = $1 ORDER BY segment FOR UPDATE
     ) AS segments HAVING count(*) > 0`,
    [subscriptionId],
  );
  if (!checkpoint) throw new Error(`subscription ${subscriptionId} has no checkpoint`);
  return checkpoint;
}

/** Where each segment of a projection stands (one, unless it is split into segments), and the highest of them. */
export interface LivePositions {
  segments: number;
  positions: Map<number, bigint>;
  highest: Checkpoint;
}

export async function livePositions(db: EntityManager, subscriptionId: string): Promise<LivePositions> {
  const rows: Array<{ segment: number; segments: number; position: string }> = await db.query(
    `SELECT segment, segments, global_position::text AS position FROM subscription_checkpoints WHERE subscription_id = $1`,
    [subscriptionId],
  );
  const positions = new Map(rows.map((row) => [row.segment, BigInt(row.position)]));
  const highest = [...positions.values()].reduce((a, b) => (b > a ? b : a), 0n);
  return { segments: rows[0]?.segments ?? 1, positions, highest: { globalPosition: highest.toString() } };
}

/** The events a projection split into segments has yet to apply: those beyond their own segment's checkpoint. */
export function notYetApplied<E extends SequencedEvent>(events: readonly E[], live: LivePositions): E[] {
  return events.filter((event) => BigInt(event.globalPosition) > (live.positions.get(segmentOf(event.streamId, live.segments)) ?? 0n));
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
