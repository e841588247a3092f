import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/** A reaction step set aside after its last attempt (`parked_reactions`), waiting for an operator. */
export interface ParkedReaction {
  /** The reaction's subscription id, e.g. `reaction:order-fulfilment`. */
  reaction: string;
  /** The step that failed: a saga member, or `handle` for an event handler. */
  step: string;
  eventId: string;
  eventType: string;
  streamId: string;
  /** The event's global position (the order in which it was committed). */
  eventPosition: string;
  attempts: number;
  parkedAt: Date;
  /** When an operator asked for a retry that no running API has made yet; null otherwise. */
  retryRequestedAt: Date | null;
  lastError: string;
}

/** Which parked steps to try again: every one, or those of one reaction parked on one event. */
export type ParkedRetrySelection = { all: true } | { reaction: string; eventId: string };

/** Parked reaction steps, the longest parked first, at most `limit` of them, and how many there are in all. */
export async function listParkedReactions(db: Db, limit = Number.POSITIVE_INFINITY): Promise<{ total: number; items: ParkedReaction[] }> {
  // One statement, so the count and the page see the same rows (a step parked between two
  // queries showed as `total: 1` with no item). The window counts before LIMIT applies.
  const rows: Array<ParkedReaction & { total: number }> = await db.query(
    `SELECT reaction, step, event_id AS "eventId", event_type AS "eventType", stream_id AS "streamId",
            event_position::text AS "eventPosition", attempts, parked_at AS "parkedAt",
            retry_requested_at AS "retryRequestedAt", last_error AS "lastError", count(*) OVER ()::int AS total
     FROM parked_reactions ORDER BY parked_at, reaction, event_id, step
     LIMIT $1`,
    [Number.isFinite(limit) ? limit : null],
  );
  return { total: rows[0]?.total ?? 0, items: rows.map(({ total: _total, ...item }) => item) };
}

/**
 * Asks the running API (REACTIONS_ENABLED=true) to try the selected parked steps again: sets
 * their `retry_requested_at`, which a trigger announces (NOTIFY parked_reactions_retry); the
 * process running the reaction tries each in its own transaction, removes the parked row on
 * success and parks it again with the new error on failure (ReactionSubscription.retryRequested).
 * Returns how many parked steps the request covers (0: none matched).
 */
export async function requestParkedReactionRetry(db: Db, selection: ParkedRetrySelection): Promise<number> {
  const [{ count }]: Array<{ count: number }> =
    'all' in selection
      ? await db.query(
          `WITH requested AS (UPDATE parked_reactions SET retry_requested_at = clock_timestamp() RETURNING 1)
           SELECT count(*)::int AS count FROM requested`,
        )
      : await db.query(
          `WITH requested AS (
             UPDATE parked_reactions SET retry_requested_at = clock_timestamp()
             WHERE reaction = $1 AND event_id::text = lower($2) RETURNING 1
           )
           SELECT count(*)::int AS count FROM requested`,
          [selection.reaction, selection.eventId],
        );
  return count;
}
