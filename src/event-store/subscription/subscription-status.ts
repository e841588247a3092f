import type { DataSource, EntityManager } from 'typeorm';
import { segmentLockCondition } from '../segments/segment-locks';
import { failureOf, SUBSCRIPTION_FAILURE_COLUMNS, SubscriptionFailure, SubscriptionFailureRow } from './subscription-failures';
import type { SubscriptionPause } from './subscription-pauses';

/** One reader of the store as `subscription_checkpoints` shows it, whichever process runs it. */
export interface SubscriptionStatus {
  subscriptionId: string;
  /** Global position of the last event it took. */
  checkpoint: number;
  /** Committed events it has yet to take: numbered beyond its checkpoint, plus those not yet numbered. */
  lagEvents: number;
  /** Age of the oldest event it has yet to take, in seconds (0 when caught up). */
  lagSeconds: number;
  /** Set while it is stopped at an event it cannot take. */
  failure?: SubscriptionFailure;
  /** Set while an operator has it paused (subscription-pauses.ts): it takes no event, whatever its segments. */
  paused?: SubscriptionPause;
  /**
   * Split into segments (SUBSCRIPTION_SEGMENTS > 1): each one's own; the figures above are the
   * slowest segment's (checkpoint: the lowest; lag: the largest; failure: the earliest).
   */
  segments?: SegmentStatus[];
}

export interface SegmentStatus {
  segment: number;
  checkpoint: number;
  lagEvents: number;
  lagSeconds: number;
  failure?: SubscriptionFailure;
  /** The lease session holding the segment (`application_name`), when a process holds it. */
  heldBy?: string;
}

/**
 * Every subscription's lag and failure in one statement, from indexes only (no count over the
 * store, whatever its size):
 *
 * - the head is `max(global_position)`: one step down the unique index `events_global_position_key`;
 * - numbers are contiguous, so the numbered events beyond a checkpoint are `head - checkpoint`;
 * - the oldest of them is the first one after the checkpoint: one step of the same index, per
 *   subscription;
 * - events committed and not numbered yet are counted, and their oldest found, through the
 *   partial index `events_unsequenced_idx` (it holds only those, a handful at most).
 *
 * `EXPLAIN` on a store of 20,000 events (test/subscription-failures.e2e-spec.ts checks that no
 * `Seq Scan on events` appears; the one over subscription_checkpoints is a row per reader):
 *
 *   Sort
 *     ->  Nested Loop Left Join
 *           ->  Nested Loop
 *                 ->  Nested Loop
 *                       ->  Result
 *                             InitPlan 1
 *                               ->  Limit
 *                                     ->  Index Only Scan Backward using events_global_position_key on events events_1
 *                       ->  Aggregate
 *                             ->  Index Scan using events_unsequenced_idx on events
 *                 ->  Seq Scan on subscription_checkpoints c
 *           ->  Limit
 *                 ->  Index Scan using events_global_position_key on events e
 *                       Index Cond: (global_position > c.global_position)
 *
 * (plus a lookup of `paused_subscriptions` by primary key per row, a table of a few rows at most).
 */
export const SUBSCRIPTION_STATUS_SQL = `
  WITH head AS (
    SELECT coalesce(max(global_position), 0) AS position FROM events
  ), unnumbered AS (
    SELECT count(*) AS events, min(recorded_at) AS oldest FROM events WHERE global_position IS NULL
  )
  SELECT c.subscription_id AS "subscriptionId", c.segment, c.segments, c.global_position::float8 AS checkpoint,
         (greatest(head.position - c.global_position, 0) + unnumbered.events)::float8 AS "lagEvents",
         coalesce(round(greatest(extract(epoch FROM now() - least(next.recorded_at, unnumbered.oldest)), 0), 3), 0)::float8 AS "lagSeconds",
         ${SUBSCRIPTION_FAILURE_COLUMNS},
         p.paused_by AS "pausedBy", p.reason AS "pauseReason", p.paused_at AS "pausedAt"
  FROM subscription_checkpoints c
  CROSS JOIN head
  CROSS JOIN unnumbered
  LEFT JOIN paused_subscriptions p ON p.subscription_id = c.subscription_id
  LEFT JOIN LATERAL (
    SELECT e.recorded_at FROM events e WHERE e.global_position > c.global_position ORDER BY e.global_position LIMIT 1
  ) AS next ON true
  ORDER BY c.subscription_id, c.segment`;

/**
 * Which lease session holds each segment: the segment leases are advisory locks
 * `(hashtext('<id>/<segments>'), segment)` (SubscriptionLeases), seen in pg_locks.
 */
export const SEGMENT_HOLDERS_SQL = `
  SELECT c.subscription_id AS "subscriptionId", c.segment, a.application_name AS "heldBy"
  FROM subscription_checkpoints c
  JOIN pg_locks l ON ${segmentLockCondition(`c.subscription_id || '/' || c.segments`, 'c.segment')}
  LEFT JOIN pg_stat_activity a ON a.pid = l.pid`;

/** The pause columns of SUBSCRIPTION_STATUS_SQL; NULL when the subscription is not paused. */
export interface PauseRow {
  pausedBy: string | null;
  pauseReason: string | null;
  pausedAt: Date | null;
}

/** The pause a row of SUBSCRIPTION_STATUS_SQL records, if any. */
export function pauseOf(row: PauseRow): SubscriptionPause | undefined {
  return row.pausedAt === null ? undefined : { by: row.pausedBy ?? '', reason: row.pauseReason ?? '', since: row.pausedAt };
}

type StatusRow = SubscriptionFailureRow & PauseRow & Omit<SubscriptionStatus, 'failure' | 'segments' | 'paused'> & { segment: number; segments: number };

/**
 * Every subscription of the store (of every process), with its lag and its failure if stopped;
 * one split into segments shows its slowest segment, and each segment in `segments`.
 */
export async function readSubscriptionStatuses(db: DataSource | EntityManager): Promise<SubscriptionStatus[]> {
  const rows: StatusRow[] = await db.query(SUBSCRIPTION_STATUS_SQL);
  const split = rows.some((row) => row.segments > 1);
  const holders: Array<{ subscriptionId: string; segment: number; heldBy: string | null }> = split ? await db.query(SEGMENT_HOLDERS_SQL) : [];
  const statuses = new Map<string, SubscriptionStatus>();
  for (const row of rows) {
    const failure = failureOf(row);
    const segment: SegmentStatus = { segment: row.segment, checkpoint: row.checkpoint, lagEvents: row.lagEvents, lagSeconds: row.lagSeconds };
    if (failure) segment.failure = failure;
    const heldBy = holders.find((holder) => holder.subscriptionId === row.subscriptionId && holder.segment === row.segment)?.heldBy;
    if (heldBy) segment.heldBy = heldBy;
    const known = statuses.get(row.subscriptionId);
    if (!known) {
      const status: SubscriptionStatus = { subscriptionId: row.subscriptionId, checkpoint: row.checkpoint, lagEvents: row.lagEvents, lagSeconds: row.lagSeconds };
      if (failure) status.failure = failure;
      const paused = pauseOf(row);
      if (paused) status.paused = paused;
      if (row.segments > 1) status.segments = [segment];
      statuses.set(row.subscriptionId, status);
      continue;
    }
    known.checkpoint = Math.min(known.checkpoint, row.checkpoint);
    known.lagEvents = Math.max(known.lagEvents, row.lagEvents);
    known.lagSeconds = Math.max(known.lagSeconds, row.lagSeconds);
    if (failure && (!known.failure || failure.globalPosition < known.failure.globalPosition)) known.failure = failure;
    known.segments?.push(segment);
  }
  return [...statuses.values()];
}
