import { MigrationInterface, QueryRunner } from 'typeorm';
import { SEQUENCE_EVENTS_NUMBERING as INLINED_BATCH_NUMBERING } from './1765400000000-SequenceEventsFunction';

/**
 * The numbering statement of `sequence_events` as this migration leaves it, `$1` its batch size:
 * numbers the oldest unnumbered events after the current head, and answers how many and the new
 * head. Exported for the tests that EXPLAIN what the app runs (store-growth): they see only the
 * call of the function.
 */
export const SEQUENCE_EVENTS_NUMBERING = `WITH tip AS (
          SELECT coalesce(max(global_position), 0) AS last FROM events
        ), batch AS MATERIALIZED (
          SELECT position, row_number() OVER (ORDER BY position) AS n
          FROM (SELECT position FROM events WHERE global_position IS NULL ORDER BY position LIMIT $1) AS oldest
        ), assigned AS (
          UPDATE events SET global_position = tip.last + batch.n
          FROM tip, batch
          WHERE events.position = batch.position AND events.global_position IS NULL
          RETURNING events.global_position
        )
        SELECT count(*)::int, max(global_position) FROM assigned`;

/**
 * `sequence_events` reads its batch (the oldest unnumbered events, with their row numbers) once
 * per call: `batch AS MATERIALIZED` (PostgreSQL 12+). Referenced once, the CTE was inlined into
 * the UPDATE, and under statistics taken when nothing waited to be numbered (autovacuum analyzed
 * the table while the sequencer had caught up; a burst of appends since) the planner estimates one
 * unnumbered event, and put the batch on the inner side of a nested loop over them: the batch's
 * index read, its LIMIT and its row numbering ran again for every unnumbered event (20,000
 * waiting: read 20,000 times, about 1 s a call instead of milliseconds). Materialized, it is read
 * once whatever the statistics say (test/sequence-events-stale-statistics.e2e-spec.ts).
 *
 * The rest of the function is that of migrations/1765400000000-SequenceEventsFunction.ts (see
 * there for the lock, the snapshot, the NOTIFY and the side-by-side run with the previous
 * version); CREATE OR REPLACE keeps its owner and its EXECUTE grant. Down restores that
 * migration's body.
 */
export class SequenceEventsMaterializedBatch1765500000000 implements MigrationInterface {
  name = 'SequenceEventsMaterializedBatch1765500000000';

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
