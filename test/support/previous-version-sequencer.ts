import type { ClientBase } from 'pg';

/**
 * One batch as a sequencer of the version before `sequence_events` numbers it: the statements
 * themselves, sent as one simple query (its text verbatim), under the same fence. During a rolling
 * deploy its processes number beside those of this version. Returns how many it numbered.
 */
export async function previousVersionBatch(client: ClientBase, batchSize: number): Promise<number> {
  const results = (await client.query(
    `SET LOCAL enable_bitmapscan = off;
       SELECT pg_advisory_xact_lock(7283640019273645101::bigint);
       WITH head AS (
         SELECT coalesce(max(global_position), 0) AS last FROM events
       ), batch AS (
         SELECT position, row_number() OVER (ORDER BY position) AS n
         FROM (SELECT position FROM events WHERE global_position IS NULL ORDER BY position LIMIT ${batchSize}) AS oldest
       ), numbered AS (
         UPDATE events SET global_position = head.last + batch.n
         FROM head, batch
         WHERE events.position = batch.position AND events.global_position IS NULL
         RETURNING events.global_position
       ), notified AS (
         SELECT pg_notify('events_sequenced', max(global_position)::text) FROM numbered HAVING count(*) > 0
       )
       SELECT (SELECT count(*) FROM numbered)::int AS numbered, (SELECT max(global_position) FROM numbered)::text AS head,
              (SELECT count(*) FROM notified)::int AS notified`,
  )) as unknown as Array<{ rows: Array<{ numbered: number }> }>;
  return results[2].rows[0].numbered;
}
