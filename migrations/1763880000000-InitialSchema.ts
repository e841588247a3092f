import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1763880000000 implements MigrationInterface {
  name = 'InitialSchema1763880000000';

  async up(db: QueryRunner): Promise<void> {
    // The event store. transaction_id lets readers wait for late-committing writers (see
    // CheckpointedSubscription); UNIQUE (stream_id, stream_version) is the last line of defence
    // against two writers appending the same version.
    await db.query(`
      CREATE TABLE events (
        position        bigserial   PRIMARY KEY,
        transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
        event_id        uuid        NOT NULL,
        stream_type     text        NOT NULL,
        stream_id       uuid        NOT NULL,
        stream_version  integer     NOT NULL CHECK (stream_version > 0),
        event_type      text        NOT NULL,
        schema_version  integer     NOT NULL DEFAULT 1,
        payload         jsonb       NOT NULL,
        metadata        jsonb       NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_event_id_key UNIQUE (event_id),
        CONSTRAINT events_stream_id_stream_version_key UNIQUE (stream_id, stream_version)
      )`);
    await db.query(`CREATE INDEX events_transaction_id_position_idx ON events (transaction_id, position)`);

    await db.query(`
      CREATE TABLE subscription_checkpoints (
        subscription_id text        PRIMARY KEY,
        transaction_id  xid8        NOT NULL DEFAULT '0',
        position        bigint      NOT NULL DEFAULT 0,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);

    // Write models.
    await db.query(`
      CREATE TABLE users (
        id              uuid        PRIMARY KEY,
        email           text        NOT NULL,
        name            text        NOT NULL,
        status          text        NOT NULL,
        credit_limit    bigint      NOT NULL,
        credit_reserved bigint      NOT NULL DEFAULT 0,
        version         integer     NOT NULL,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        CONSTRAINT users_email_key UNIQUE (email)
      )`);
    await db.query(`
      CREATE TABLE orders (
        id               uuid        PRIMARY KEY,
        customer_id      uuid        NOT NULL,
        status           text        NOT NULL,
        currency         char(3)     NOT NULL,
        lines            jsonb       NOT NULL,
        total            bigint      NOT NULL,
        rejection_reason text,
        version          integer     NOT NULL,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL
      )`);

    // Read models, built by projections from the event store.
    await db.query(`
      CREATE TABLE user_profiles (
        id              uuid        PRIMARY KEY,
        email           text        NOT NULL,
        name            text        NOT NULL,
        status          text        NOT NULL,
        credit_limit    bigint      NOT NULL,
        credit_reserved bigint      NOT NULL DEFAULT 0,
        version         integer     NOT NULL,
        registered_at   timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE TABLE order_summaries (
        id               uuid        PRIMARY KEY,
        customer_id      uuid        NOT NULL,
        status           text        NOT NULL,
        currency         char(3)     NOT NULL,
        lines            jsonb       NOT NULL,
        total            bigint      NOT NULL,
        rejection_reason text,
        version          integer     NOT NULL,
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL
      )`);
    await db.query(`CREATE INDEX order_summaries_created_idx ON order_summaries (created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX order_summaries_customer_idx ON order_summaries (customer_id, created_at DESC, id DESC)`);
    await db.query(`CREATE INDEX order_summaries_status_idx ON order_summaries (status, created_at DESC, id DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['order_summaries', 'user_profiles', 'orders', 'users', 'subscription_checkpoints', 'events']) {
      await db.query(`DROP TABLE ${table}`);
    }
  }
}
