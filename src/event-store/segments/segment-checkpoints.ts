import type { DataSource, EntityManager } from 'typeorm';
import { segmentLockCondition } from './segment-locks';
import { resegment } from './segments';

type Db = DataSource | EntityManager;

/** The configured number of segments cannot be reached from what is stored without applying an event twice or skipping one. */
export class SegmentsMismatchError extends Error {
  constructor(subscriptionId: string, why: string) {
    super(`cannot split ${subscriptionId} into SUBSCRIPTION_SEGMENTS segments: ${why}`);
    this.name = 'SegmentsMismatchError';
  }
}

export interface SegmentCheckpoint {
  segment: number;
  position: bigint;
  startsAfter: bigint;
}

/**
 * Makes `subscriptionId` stand as `segments` checkpoint rows: creates them when it has none
 * (at the beginning of the store, or at its head with `startsAfter` for a reaction that does not
 * replay history), and re-splits what is stored when it was split otherwise (see resegment():
 * splits into a multiple always; a merge only when safe; `idempotent` readers, i.e. reactions,
 * always, from the lowest position). One transaction with the rows locked, so a batch being
 * applied finishes first. Throws SegmentsMismatchError when it must refuse.
 */
export async function ensureSegments(
  dataSource: DataSource,
  subscriptionId: string,
  segments: number,
  { fromHead, idempotent }: { fromHead: boolean; idempotent: boolean },
): Promise<void> {
  await dataSource.transaction(async (transaction) => {
    await transaction.query(
      `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, starts_after)
       SELECT $1, s, $2, start.at, start.at
       FROM generate_series(0, $2::int - 1) AS s,
            (SELECT CASE WHEN $3 THEN coalesce((SELECT max(global_position) FROM events), 0) ELSE 0 END AS at) AS start
       WHERE NOT EXISTS (SELECT 1 FROM subscription_checkpoints WHERE subscription_id = $1)
       ON CONFLICT DO NOTHING`,
      [subscriptionId, segments, fromHead],
    );
    const rows: Array<{ segments: number; position: string; startsAfter: string }> = await transaction.query(
      `SELECT segments, global_position::text AS position, starts_after::text AS "startsAfter"
       FROM subscription_checkpoints WHERE subscription_id = $1 ORDER BY segment FOR UPDATE`,
      [subscriptionId],
    );
    if (rows.length === segments && rows.every((row) => row.segments === segments)) return;
    await refuseWhileRunningSplitOtherwise(transaction, subscriptionId, rows[0].segments, segments);
    const outcome = resegment(
      rows.map((row) => BigInt(row.position)),
      segments,
      idempotent,
    );
    if ('refused' in outcome) throw new SegmentsMismatchError(subscriptionId, outcome.refused);
    const startsAfter = rows.map((row) => BigInt(row.startsAfter)).reduce((a, b) => (b < a ? b : a));
    await transaction.query(`DELETE FROM subscription_checkpoints WHERE subscription_id = $1`, [subscriptionId]);
    await transaction.query(
      `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, starts_after)
       SELECT $1, (t.n - 1)::int, $2, t.position, $3 FROM unnest($4::bigint[]) WITH ORDINALITY AS t(position, n)`,
      [subscriptionId, segments, startsAfter.toString(), outcome.positions.map(String)],
    );
  });
}

/**
 * Re-splitting under processes that run the subscription split into `stored` segments would take
 * their checkpoint rows away: they stop reading, and nothing on /health says so. Every such
 * process holds the membership lock `(hashtext('<id>/<stored>'), stored)` on its lease session
 * (SubscriptionLeases), so pg_locks tells whether one runs.
 */
async function refuseWhileRunningSplitOtherwise(transaction: EntityManager, subscriptionId: string, stored: number, wanted: number): Promise<void> {
  const [{ running }]: Array<{ running: number }> = await transaction.query(
    `SELECT count(DISTINCT l.pid)::int AS running FROM pg_locks l WHERE ${segmentLockCondition(`$1 || '/' || $2::int`, '$2::int')}`,
    [subscriptionId, stored],
  );
  if (running > 0) {
    throw new SegmentsMismatchError(
      subscriptionId,
      `${running} running process(es) have it split into ${stored} segments: start this one with SUBSCRIPTION_SEGMENTS=${stored}, ` +
        `or stop every process of this database and start them all with ${wanted}`,
    );
  }
}

/** The checkpoints of the given segments, as split into `segments`; throws when another split is stored (another process re-split it). */
export async function loadSegmentCheckpoints(db: Db, subscriptionId: string, segments: number, wanted: readonly number[]): Promise<SegmentCheckpoint[]> {
  const rows: Array<{ segment: number; position: string; startsAfter: string }> = await db.query(
    `SELECT segment, global_position::text AS position, starts_after::text AS "startsAfter"
     FROM subscription_checkpoints WHERE subscription_id = $1 AND segments = $2 AND segment = ANY($3::int[])`,
    [subscriptionId, segments, wanted],
  );
  if (rows.length !== wanted.length) {
    throw new Error(`${subscriptionId} is no longer split into ${segments} segments (SUBSCRIPTION_SEGMENTS differs between processes?)`);
  }
  return rows.map((row) => ({ segment: row.segment, position: BigInt(row.position), startsAfter: BigInt(row.startsAfter) }));
}

/** The key under which the safety poll reports a segment's checkpoint (the subscription's id when it is not split). */
export function segmentKey(subscriptionId: string, segment: number, segments: number): string {
  return segments === 1 ? subscriptionId : `${subscriptionId}/${segment}`;
}
