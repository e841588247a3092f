import type { DataSource, EntityManager } from 'typeorm';
import { ensureSegments } from '../segments/segment-checkpoints';
import { SequencedEvent, STORED_EVENT_COLUMNS } from '../stored-event';
import { pausedCondition } from '../subscription/subscription-pauses';

type Db = DataSource | EntityManager;

/** The receipt step that says a reaction is done with an event as a whole. */
export const WHOLE_EVENT = '*';

/** An event a reaction has yet to take, with the steps it already took (a partial earlier attempt). */
export type ReactionEvent = SequencedEvent & { handledSteps: string[] };

export interface ReactionBatch {
  /** The highest global position the read saw: every event up to it was visible to it. */
  head: string;
  events: ReactionEvent[];
  /** An operator paused the reaction (subscription-pauses.ts): nothing was read. */
  paused: boolean;
}

/**
 * Creates the reaction's checkpoint unless it exists, as `segments` segments: at the head of the
 * store (the highest number given so far), or at its beginning for a reaction that replays
 * history. A reaction created at the head `starts_after` it for good: no receipt records what it
 * did before (nothing), so even a checkpoint reset to 0 must not make it read that history.
 * Stored with another number of segments, it is split again from the lowest of them (receipts
 * pass over what was done).
 */
export async function createReactionCheckpoint(dataSource: DataSource, subscriptionId: string, fromBeginning: boolean, segments = 1): Promise<void> {
  await ensureSegments(dataSource, subscriptionId, segments, { fromHead: !fromBeginning, idempotent: true });
}

/**
 * The next events of the given types after `after` that the reaction has not done (no whole-event
 * receipt), in commit order, with the step receipts it holds for each; and the head, read in the
 * same snapshot. Numbers become visible in order, so when fewer than `limit` events come back, the
 * reaction has done or seen every event of its types up to that head. The type filter runs in
 * SQL: a reaction never reads what it ignores; done events are passed over there too, so a
 * partition waiting at an event does not hold the others' window. Paused by an operator, it reads
 * no event.
 */
export async function readReactionBatch(
  db: Db,
  subscriptionId: string,
  after: bigint,
  eventTypes: readonly string[],
  limit: number,
): Promise<ReactionBatch> {
  // The receipts of each event are looked up in a LATERAL aggregate, which PostgreSQL runs once
  // per event read, by primary key. A NOT EXISTS anti-join was planned (with the statistics of a
  // small receipts table) as a scan of every whole-event receipt of the reaction per batch,
  // compared with every event read: 502,400 comparisons and 43 ms for a batch of 100 after
  // 5,000 orders, growing with the store.
  const rows: Array<ReactionEvent & { head: string | null; paused: boolean }> = await db.query(
    `WITH head AS (SELECT coalesce(max(global_position), 0)::text AS head, ${pausedCondition('$1')} AS paused FROM events)
     SELECT head.head, head.paused, batch.*
     FROM head
     LEFT JOIN LATERAL (
       SELECT ${STORED_EVENT_COLUMNS}, receipts.steps AS "handledSteps"
       FROM events
       CROSS JOIN LATERAL (
         SELECT coalesce(array_agg(r.step), '{}') AS steps FROM reaction_receipts r
         WHERE r.subscription_id = $1 AND r.event_id = events.event_id
       ) AS receipts
       WHERE NOT head.paused AND events.global_position > $2 AND events.event_type = ANY($3::text[])
         AND NOT ('${WHOLE_EVENT}' = ANY (receipts.steps))
       ORDER BY events.global_position
       LIMIT $4
     ) AS batch ON true
     ORDER BY batch."globalPosition"`,
    [subscriptionId, after.toString(), eventTypes, limit],
  );
  const head = rows[0]?.head ?? '0';
  return {
    head,
    paused: rows[0]?.paused ?? false,
    events: rows.filter((row) => row.eventId !== null).map(({ head: _head, paused: _paused, ...event }) => event),
  };
}

/** Moves a segment's checkpoint from `expected` to `to` (a low-water mark: every event of the segment up to it is done); false if it was moved meanwhile. */
export async function advanceReactionCheckpoint(
  db: Db,
  subscriptionId: string,
  { segment, segments }: { segment: number; segments: number },
  expected: bigint,
  to: bigint,
): Promise<boolean> {
  // A SELECT around the UPDATE: TypeORM answers a bare UPDATE with [rows, rowCount].
  const [{ moved }] = await db.query(
    `WITH moved AS (
       UPDATE subscription_checkpoints c SET global_position = $3, updated_at = now()
       FROM (
         SELECT subscription_id, segment FROM subscription_checkpoints
         WHERE subscription_id = $1 AND segment = $4 AND segments = $5 AND global_position = $2
         FOR UPDATE SKIP LOCKED
       ) AS expected
       WHERE c.subscription_id = expected.subscription_id AND c.segment = expected.segment
       RETURNING 1
     )
     SELECT count(*)::int AS moved FROM moved`,
    [subscriptionId, expected.toString(), to.toString(), segment, segments],
  );
  return moved > 0;
}

/**
 * Records that the reaction took `steps` of the event in this transaction; returns those recorded
 * now. A step missing from the answer was recorded before (or by a transaction in flight, which
 * this one waited for): it must not act again.
 */
export async function recordReceipts(transaction: EntityManager, subscriptionId: string, eventId: string, steps: readonly string[]): Promise<string[]> {
  const rows: Array<{ step: string }> = await transaction.query(
    `INSERT INTO reaction_receipts (subscription_id, event_id, step) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING RETURNING step`,
    [subscriptionId, eventId, steps],
  );
  return rows.map(({ step }) => step);
}
