import { MigrationInterface, QueryRunner } from 'typeorm';

export class ConsumerSchema1763880200000 implements MigrationInterface {
  name = 'ConsumerSchema1763880200000';

  async up(db: QueryRunner): Promise<void> {
    // One row per applied integration event, written in the same transaction as its effect.
    await db.query(`
      CREATE TABLE inbox (
        event_id    uuid        PRIMARY KEY,
        type        text        NOT NULL,
        stream_id   uuid        NOT NULL,
        sequence    integer     NOT NULL,
        -- clock_timestamp(), not now(): now() is when the transaction began, which may precede a
        -- lock wait behind the previous event of the same aggregate.
        applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    // The last sequence applied per aggregate: events of one aggregate apply strictly in order.
    await db.query(`
      CREATE TABLE stream_positions (
        stream_id      uuid    PRIMARY KEY,
        last_sequence  integer NOT NULL
      )`);
    await db.query(`
      CREATE TABLE notifications (
        id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
        event_id     uuid        NOT NULL,
        customer_id  uuid        NOT NULL,
        kind         text        NOT NULL,
        message      text        NOT NULL,
        created_at   timestamptz NOT NULL,
        CONSTRAINT notifications_event_id_key UNIQUE (event_id)
      )`);
    await db.query(`CREATE INDEX notifications_customer_idx ON notifications (customer_id, created_at DESC)`);
    await db.query(`
      CREATE TABLE customer_stats (
        customer_id       uuid        PRIMARY KEY,
        orders_placed     integer     NOT NULL DEFAULT 0,
        orders_confirmed  integer     NOT NULL DEFAULT 0,
        orders_cancelled  integer     NOT NULL DEFAULT 0,
        total_spent       bigint      NOT NULL DEFAULT 0,
        updated_at        timestamptz NOT NULL
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['customer_stats', 'notifications', 'stream_positions', 'inbox']) await db.query(`DROP TABLE ${table}`);
  }
}
