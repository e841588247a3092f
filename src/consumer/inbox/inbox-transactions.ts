import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { ReadModels } from '../read-models/read-model';
import { decideBatch, type InboxState } from './inbox-decisions';
import type { InboxOutcome } from './inbox-outcome';
import type { ReceivedEvent } from './received-event';

/**
 * The inbox found an event id it had not expected to hold (the same id under another stream or
 * sequence). The batch is rolled back; the one-event path, applied to each event alone, decides.
 */
export class InboxBatchConflictError extends Error {
  constructor(expected: number, recorded: number) {
    super(`the inbox recorded ${recorded} of the ${expected} events it was to apply`);
    this.name = 'InboxBatchConflictError';
  }
}

/**
 * The inbox's transactions. Each locks the position rows of the streams it touches (the row is
 * the aggregate's lock, so two consumer processes serialize per aggregate), refuses what was
 * applied already or comes too early, records the applied event ids in `inbox`, applies the
 * read models and advances the positions, all or nothing.
 */
@Injectable()
export class InboxTransactions {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly readModels: ReadModels,
  ) {}

  /** One event in a transaction of its own: the path that isolates a failing event. */
  applyOne(event: ReceivedEvent): Promise<InboxOutcome> {
    return this.dataSource.transaction(async (db) => {
      const [{ last_sequence: applied }] = await db.query(
        `INSERT INTO stream_positions (stream_id, last_sequence) VALUES ($1, 0)
         ON CONFLICT (stream_id) DO UPDATE SET stream_id = EXCLUDED.stream_id
         RETURNING last_sequence`,
        [event.streamId],
      );
      if (event.sequence <= applied) return 'duplicate';
      if (event.sequence > applied + 1) return 'too-early';

      const recorded: unknown[] = await db.query(
        `INSERT INTO inbox (event_id, type, stream_id, sequence) VALUES ($1, $2, $3, $4)
         ON CONFLICT (event_id) DO NOTHING RETURNING 1`,
        [event.eventId, event.type, event.streamId, event.sequence],
      );
      if (recorded.length === 0) return 'duplicate';

      await this.readModels.apply([event], db);
      await db.query(`UPDATE stream_positions SET last_sequence = $2 WHERE stream_id = $1`, [event.streamId, event.sequence]);
      return 'applied';
    });
  }

  /**
   * All `events` in one transaction of set-based statements, whatever their number: lock the
   * positions and read the recorded ids, decide in memory (decideBatch), then one statement that
   * records the inbox rows and advances the positions, and one multi-row write each for the
   * registered read models: with `START TRANSACTION` and `COMMIT`, 4 round trips and one per read
   * model, whatever the batch's size. Returns one outcome per event,
   * in their order. Any error rolls back the whole batch; InboxBatchConflictError is one.
   */
  applyTogether(events: readonly ReceivedEvent[]): Promise<InboxOutcome[]> {
    return this.dataSource.transaction(async (db) => {
      const state = await lockStreams(db, events);
      const { outcomes, advancedTo } = decideBatch(events, state);
      const applied = events
        .filter((_, index) => outcomes[index] === 'applied')
        .sort((a, b) => a.sequence - b.sequence); // so each stream's rows are recorded (applied_at) in sequence order
      if (applied.length === 0) return outcomes;

      // The inbox rows and the positions in one round trip (the positions are locked already).
      const [{ recorded }]: Array<{ recorded: number }> = await db.query(
        `WITH recorded AS (
           INSERT INTO inbox (event_id, type, stream_id, sequence)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[])
           ON CONFLICT (event_id) DO NOTHING RETURNING 1
         ), advanced AS (
           UPDATE stream_positions AS position SET last_sequence = advanced.last_sequence
           FROM unnest($5::uuid[], $6::int[]) AS advanced(stream_id, last_sequence)
           WHERE position.stream_id = advanced.stream_id
         )
         SELECT count(*)::int AS recorded FROM recorded`,
        [
          applied.map((e) => e.eventId),
          applied.map((e) => e.type),
          applied.map((e) => e.streamId),
          applied.map((e) => e.sequence),
          [...advancedTo.keys()],
          [...advancedTo.values()],
        ],
      );
      if (recorded !== applied.length) throw new InboxBatchConflictError(applied.length, recorded);

      await this.readModels.apply(applied, db);
      return outcomes;
    });
  }
}

/**
 * Upserts and locks the position rows of the batch's streams in stream id order (so two
 * processes locking overlapping sets cannot deadlock), and in the same round trip reads which
 * of the batch's event ids the inbox holds. The positions are the latest committed (an upsert
 * waits for and reads the newest row version); the ids are as of the statement's start, which
 * can only miss an event applied meanwhile at a position the lock now shows as applied.
 */
async function lockStreams(db: EntityManager, events: readonly ReceivedEvent[]): Promise<InboxState> {
  const streamIds = [...new Set(events.map((event) => event.streamId.toLowerCase()))].sort();
  const rows: { stream_id: string | null; last_sequence: number | null; event_id: string | null }[] = await db.query(
    `WITH locked AS (
       INSERT INTO stream_positions (stream_id, last_sequence)
       SELECT stream_id, 0 FROM unnest($1::uuid[]) WITH ORDINALITY AS stream(stream_id, position) ORDER BY position
       ON CONFLICT (stream_id) DO UPDATE SET stream_id = EXCLUDED.stream_id
       RETURNING stream_id, last_sequence
     )
     SELECT stream_id::text, last_sequence, NULL::text AS event_id FROM locked
     UNION ALL
     SELECT NULL, NULL, event_id::text FROM inbox WHERE event_id = ANY($2::uuid[])`,
    [streamIds, events.map((event) => event.eventId)],
  );
  const lastSequences = new Map<string, number>();
  const recordedEventIds = new Set<string>();
  for (const row of rows) {
    if (row.stream_id !== null) lastSequences.set(row.stream_id, Number(row.last_sequence));
    else if (row.event_id !== null) recordedEventIds.add(row.event_id);
  }
  return { lastSequences, recordedEventIds };
}
