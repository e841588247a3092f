import { MigrationInterface, QueryRunner } from 'typeorm';
import { SEQUENCE_EVENTS_NUMBERING as INLINED_BATCH_NUMBERING } from './1765400000000-SequenceEventsFunction';

/**
 * The numbering statement of `sequence_events` as this migration leaves it, `$1` its batch size:
 * numbers the oldest unnumbered events after the current head, and answers how many and the new
 * head. Exported for the tests that EXPLAIN what the app runs (store-growth): they see only the
 * call of the function.
 *
 * The batch is the array of their positions, in order; an event's number is the head plus its
 * place in that array, which `width_bucket` finds by binary search (the array holds the lower
 * bounds of its buckets, and each position is one of them). The cast makes `ANY` take that one
 * array rather than the rows of a subquery.
 */
export const SEQUENCE_EVENTS_NUMBERING = `WITH tip AS (
          SELECT coalesce(max(global_position), 0) AS last FROM events
        ), batch AS MATERIALIZED (
          SELECT ARRAY(SELECT position FROM events WHERE global_position IS NULL ORDER BY position LIMIT $1) AS positions
        ), assigned AS (
          UPDATE events SET global_position = (SELECT last FROM tip) + width_bucket(events.position, (SELECT positions FROM batch))
          WHERE events.position = ANY ((SELECT positions FROM batch)::bigint[]) AND events.global_position IS NULL
          RETURNING events.global_position
        )
        SELECT count(*)::int, max(global_position) FROM assigned`;

/**
 * `sequence_events` reads the events of its batch by their positions: the batch (the oldest
 * unnumbered events) is read once, into an array, and the UPDATE finds its rows with
 * `position = ANY (that array)`, an index condition, and takes the head and the array as values
 * computed once (InitPlans). It reads no other table and joins nothing, so there is no join order
 * for statistics to get wrong: each call reads at most batch-size entries of one index (the
 * primary key or the partial index of unnumbered events, whichever the planner picks).
 *
 * Under statistics taken when nothing waited to be numbered (autovacuum analyzed the table while
 * the sequencer had caught up; a burst of appends since: in a large store the statistics' null
 * fraction of global_position is about 0 whenever they are taken) the planner estimates one
 * unnumbered event. The previous body (migrations/1765400000000-SequenceEventsFunction.ts) joined
 * the UPDATE to its batch of rows: inlined, the batch sat on the inner side of a nested loop over
 * all unnumbered events and was read again for each of them. `batch AS MATERIALIZED` (this
 * migration's first form, never released; "join" below) read it once, but the join stayed driven
 * by a scan of every unnumbered event in the partial index, each compared with the batch's rows,
 * so a call cost more the further the sequencer fell behind. Measured per call (batch of 100;
 * custom and generic plans, the generic one being what PL/pgSQL keeps after five calls):
 *
 *   waiting   stale statistics: join / array   fresh statistics: join / array
 *   0         0.04 ms / 0.04 ms                0.04 ms / 0.04 ms
 *   100       3.1–3.2 ms / 1.3–1.8 ms          1.2–1.6 ms / 1.5–2.0 ms
 *   20,000    340–345 ms / 1.7–1.9 ms          1.6 ms, generic 6.2 ms / 1.5–1.6 ms
 *   200,000   3.5–3.6 s / 2.0 ms               1.9 ms, generic 71 ms / 1.7–2.0 ms
 *
 * (the join's generic plan under fresh statistics read the whole table by a sequential scan). A
 * batch of 2,000 (the sequencer's default) with 20,000 waiting under stale statistics: 6.8–7.7 s
 * joined, 27–30 ms by the array. The head and the array are InitPlans rather than a row joined to
 * the UPDATE: joined, that row was read again for each event updated, the whole array with it (a
 * batch of 100,000: 13 s instead of 3 s). test/sequence-events-stale-statistics.e2e-spec.ts holds
 * every read of the events to the batch's size.
 *
 * `global_position IS NULL` is checked again on each row updated: the lock keeps any other
 * sequencer from numbering meanwhile, and the check makes sure a row numbered anyway is never
 * numbered twice (it stays in the plan as a filter, which READ COMMITTED rechecks on a row
 * updated concurrently).
 *
 * The rest of the function is that of migrations/1765400000000-SequenceEventsFunction.ts (see
 * there for the lock, the snapshot, the NOTIFY and the side-by-side run with the previous
 * version); CREATE OR REPLACE keeps its owner and its EXECUTE grant. Down restores that
 * migration's body.
 */
export class SequenceEventsBatchByPosition1765500000000 implements MigrationInterface {
  name = 'SequenceEventsBatchByPosition1765500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(sequenceEventsFunction(SEQUENCE_EVENTS_NUMBERING));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(sequenceEventsFunction(INLINED_BATCH_NUMBERING));
  }
}

/** `sequence_events` with `numbering` as its numbering statement: the body of migrations/1765400000000-SequenceEventsFunction.ts, to the character. */
function sequenceEventsFunction(numbering: string): string {
  return `
      CREATE OR REPLACE FUNCTION sequence_events(batch_size integer, OUT numbered integer, OUT head bigint)
      LANGUAGE plpgsql VOLATILE
      SET enable_bitmapscan = off
      AS $$
      BEGIN
        IF batch_size IS NULL OR batch_size < 1 THEN
          RAISE EXCEPTION 'batch size must be a positive integer, got %', batch_size USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM pg_advisory_xact_lock(7283640019273645101);
        ${numbering} INTO numbered, head;
        IF numbered > 0 THEN
          PERFORM pg_notify('events_sequenced', head::text);
        END IF;
      END
      $$`;
}
