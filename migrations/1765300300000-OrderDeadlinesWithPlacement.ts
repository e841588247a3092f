import { MigrationInterface, QueryRunner } from 'typeorm';
import { refuseWhileOrderFulfilmentRuns } from './previous-version-running';

/**
 * From this version on an order's deadline is written in the statement that places the order
 * (OrderDeadlines.ofPlacement), no longer by a step of the order-fulfilment saga when it handles
 * OrderPlaced; that saga no longer reads OrderPlaced at all. An order placed before the upgrade
 * whose OrderPlaced the saga had not handled yet would be left without a deadline: this gives
 * every PENDING order without one a deadline, caused by its OrderPlaced (the order's first event)
 * as the saga's step would have done.
 *
 * It is due 30 s from the upgrade (the default ORDER_CONFIRMATION_TIMEOUT_MS: a migration does not
 * read the app's settings). Lag cannot make it fire early: while the credit reaction has not come
 * to the order the watcher starts the wait again, and an order with its credit answer is decided
 * by the saga. What fires is a credit step that keeps failing.
 *
 * A process of the previous version still running would go on scheduling deadlines through the
 * saga, which is harmless, but orders it places after this ran get no deadline unless its saga
 * handles them: the migration refuses while one runs the saga (stop the previous version first).
 */
export class OrderDeadlinesWithPlacement1765300300000 implements MigrationInterface {
  name = 'OrderDeadlinesWithPlacement1765300300000';

  async up(db: QueryRunner): Promise<void> {
    await refuseWhileOrderFulfilmentRuns(db, 'this version writes the deadlines with the orders');
    // When the watcher first found the credit reaction at the order (OrderDeadlineWatcher): the
    // deadline's last wait runs from then. NULL: not seen there yet, or lagging again since.
    await db.query(`ALTER TABLE order_deadlines ADD COLUMN credit_reached_at timestamptz`);
    // The deadlines in their last wait, which every poll looks at: a few, in a table of thousands under load.
    await db.query(`CREATE INDEX order_deadlines_credit_wait_idx ON order_deadlines (due_at) WHERE credit_reached_at IS NOT NULL`);
    await db.query(`
      INSERT INTO order_deadlines (order_id, due_at, causation_id, correlation_id)
      SELECT o.id, clock_timestamp() + interval '30 seconds', e.event_id, coalesce(e.metadata ->> 'correlationId', e.event_id::text)
      FROM orders o
      JOIN events e ON e.stream_id = o.id AND e.stream_version = 1 AND e.event_type = 'OrderPlaced'
      WHERE o.status = 'PENDING'
      ON CONFLICT (order_id) DO NOTHING`);
  }

  /**
   * The deadlines stay: the previous version keeps the deadlines it finds (its saga's step leaves
   * a deadline that exists as it is), and fires them as this one does.
   */
  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX order_deadlines_credit_wait_idx`);
    await db.query(`ALTER TABLE order_deadlines DROP COLUMN credit_reached_at`);
  }
}
