import { MigrationInterface, QueryRunner } from 'typeorm';

export class OrderDeadlines1764500000000 implements MigrationInterface {
  name = 'OrderDeadlines1764500000000';

  async up(db: QueryRunner): Promise<void> {
    // The durable timeout the order saga schedules when it handles OrderPlaced, in the same
    // transaction as that step: the deadline counts from the saga's own progress, not from the
    // order's creation, so lag before the saga reached the order never counts against it.
    await db.query(`
      CREATE TABLE order_deadlines (
        order_id        uuid        PRIMARY KEY,
        due_at          timestamptz NOT NULL,
        scheduled_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
        -- The OrderPlaced event that started the wait, and its correlation id: the rejection
        -- a timeout causes is traced back to it.
        causation_id    uuid        NOT NULL,
        correlation_id  text        NOT NULL
      )`);
    await db.query(`CREATE INDEX order_deadlines_due_at_idx ON order_deadlines (due_at)`);

    // The old watcher's index (orders PENDING by creation time); nothing reads it any more.
    await db.query(`DROP INDEX orders_pending_created_idx`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX orders_pending_created_idx ON orders (created_at) WHERE status = 'PENDING'`);
    await db.query(`DROP TABLE order_deadlines`);
  }
}
