import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When the outbox relay published each event: one row per relayed batch, written by the statement
 * that advances the relay's checkpoint (no statement and no row per event). Global positions are
 * contiguous, so a batch is the range first..last and `published_at[n]` is the time the message of
 * the event at `first + n - 1` went to RabbitMQ: NULL for an event mapped to no integration event,
 * or confirmed by an earlier batch that failed. GET /flows/{correlationId} reads it; retention
 * prunes it by `confirmed_at`.
 */
export class RelayBatches1765100000000 implements MigrationInterface {
  name = 'RelayBatches1765100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE relay_batches (
        last_global_position  bigint        PRIMARY KEY,
        first_global_position bigint        NOT NULL,
        published_at          timestamptz[] NOT NULL,
        -- The broker confirmed every message of the batch by then (the checkpoint moved).
        confirmed_at          timestamptz   NOT NULL DEFAULT clock_timestamp(),
        CHECK (first_global_position <= last_global_position)
      )`);
    await db.query(`CREATE INDEX relay_batches_confirmed_at_idx ON relay_batches (confirmed_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE relay_batches`);
  }
}
