import type { DataSource, EntityManager } from 'typeorm';
import type { SequencedEvent } from '../../event-store';

type Db = DataSource | EntityManager;

/**
 * Moves the relay's checkpoint (`checkpointId`) to the last event of `relayed`, forward only, and
 * in the same statement records the batch in `relay_batches`: its range of global positions and
 * when each event's message went to RabbitMQ (`publishedAt` by event id; an event missing there,
 * mapped to no integration event, gets NULL). One row per batch, no round trip of its own. A
 * checkpoint that had moved past it already (another relay) records nothing.
 */
export async function advanceRelayCheckpoint(
  db: Db,
  checkpointId: string,
  relayed: readonly SequencedEvent[],
  publishedAt: ReadonlyMap<string, Date>,
): Promise<void> {
  const first = BigInt(relayed[0].globalPosition);
  const last = relayed[relayed.length - 1].globalPosition;
  // Indexed by offset from the first position: numbers are contiguous, but nothing here relies on it.
  const times: Array<string | null> = Array.from({ length: Number(BigInt(last) - first) + 1 }, () => null);
  for (const event of relayed) {
    const at = publishedAt.get(event.eventId);
    if (at) times[Number(BigInt(event.globalPosition) - first)] = at.toISOString();
  }
  await db.query(
    `WITH moved AS (
       UPDATE subscription_checkpoints SET global_position = $2::bigint, updated_at = now()
       WHERE subscription_id = $1 AND global_position < $2::bigint
       RETURNING 1
     )
     INSERT INTO relay_batches (last_global_position, first_global_position, published_at)
     SELECT $2::bigint, $3::bigint, $4::timestamptz[] FROM moved
     ON CONFLICT (last_global_position) DO NOTHING`,
    [checkpointId, last, first.toString(), times],
  );
}

/**
 * When the relay published each of the events at `globalPositions`, by global position: a time,
 * or null when its batch is recorded without one (no integration event, or an earlier batch sent
 * it); a position whose batch is not recorded (not relayed yet, relayed before batches were
 * recorded, or pruned) is absent. One index probe per position.
 */
export async function publishTimesAt(db: Db, globalPositions: readonly string[]): Promise<Map<string, { publishedAt: Date | null; confirmedAt: Date }>> {
  if (globalPositions.length === 0) return new Map();
  const rows: Array<{ position: string; publishedAt: Date | null; confirmedAt: Date }> = await db.query(
    `SELECT p.position::text AS position, b.published_at[(p.position - b.first_global_position + 1)::int] AS "publishedAt", b.confirmed_at AS "confirmedAt"
     FROM unnest($1::bigint[]) AS p(position)
     CROSS JOIN LATERAL (
       SELECT * FROM relay_batches WHERE last_global_position >= p.position ORDER BY last_global_position LIMIT 1
     ) AS b
     WHERE b.first_global_position <= p.position`,
    [globalPositions],
  );
  return new Map(rows.map(({ position, publishedAt, confirmedAt }) => [position, { publishedAt, confirmedAt }]));
}
