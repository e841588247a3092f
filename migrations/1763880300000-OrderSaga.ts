import { MigrationInterface, QueryRunner } from 'typeorm';

export class OrderSaga1763880300000 implements MigrationInterface {
  name = 'OrderSaga1763880300000';

  async up(db: QueryRunner): Promise<void> {
    // Each open reservation by order id, so reserving twice for one order or releasing one that
    // was never reserved changes nothing. The CHECK is the last line of defence behind the aggregate.
    await db.query(`ALTER TABLE users ADD COLUMN credit_reservations jsonb NOT NULL DEFAULT '{}'`);
    await db.query(
      `ALTER TABLE users ADD CONSTRAINT users_credit_reserved_within_limit
         CHECK (credit_reserved >= 0 AND credit_reserved <= credit_limit)`,
    );

    // A reaction to an event that failed every attempt, set aside for an operator.
    await db.query(`
      CREATE TABLE parked_reactions (
        reaction        text        NOT NULL,
        event_id        uuid        NOT NULL,
        event_position  bigint      NOT NULL,
        stream_id       uuid        NOT NULL,
        event_type      text        NOT NULL,
        attempts        integer     NOT NULL,
        last_error      text        NOT NULL,
        parked_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
        -- Set by an operator (npm run parked-reactions -- retry); a running API then tries again.
        retry_requested_at timestamptz,
        PRIMARY KEY (reaction, event_id)
      )`);

    // The deadline watcher looks only at orders still waiting for the saga.
    await db.query(`CREATE INDEX orders_pending_created_idx ON orders (created_at) WHERE status = 'PENDING'`);
    await db.query(`CREATE INDEX orders_customer_pending_idx ON orders (customer_id) WHERE status = 'PENDING'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX orders_customer_pending_idx`);
    await db.query(`DROP INDEX orders_pending_created_idx`);
    await db.query(`DROP TABLE parked_reactions`);
    await db.query(`ALTER TABLE users DROP CONSTRAINT users_credit_reserved_within_limit`);
    await db.query(`ALTER TABLE users DROP COLUMN credit_reservations`);
  }
}
