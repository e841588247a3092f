import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { TransactionContext } from '../../../database/transaction-context';
import { commandCause, type CommandMetadata } from '../../../event-store';

/** A deadline that has fallen due while its order is still PENDING. */
export interface DueDeadline {
  orderId: string;
  customerId: string;
  /** The OrderPlaced event that started the wait, and its correlation id: the cause of the rejection. */
  cause: CommandMetadata;
}

/**
 * The `order_deadlines` table: one durable timeout per order, scheduled by the saga when it
 * handles `OrderPlaced`. Times are the database's clock, so every API process agrees on what
 * is due whatever its own clock says.
 */
@Injectable()
export class OrderDeadlines {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionContext,
  ) {}

  /**
   * Starts the wait for the order's credit answer, due `timeoutMs` from now, inside the current
   * transaction (the saga step's) when there is one. Idempotent per order: handling the same
   * `OrderPlaced` again keeps the first due time; an order no longer PENDING gets none. The
   * deadline keeps the cause of the work running (commandCause: the saga step's OrderPlaced).
   * @throws MissingCommandCauseError
   */
  async schedule(orderId: string, timeoutMs: number): Promise<void> {
    const { correlationId, causationId } = commandCause();
    await this.transactions.queryable(this.dataSource).query(
      `INSERT INTO order_deadlines (order_id, due_at, causation_id, correlation_id)
       SELECT id, clock_timestamp() + make_interval(secs => $2::double precision / 1000), $3, $4
       FROM orders WHERE id = $1 AND status = 'PENDING'
       ON CONFLICT (order_id) DO NOTHING`,
      [orderId, timeoutMs, causationId, correlationId],
    );
  }

  /**
   * Removes every due deadline whose order was decided meanwhile (a no-op timeout), then returns
   * up to `limit` due deadlines of orders still PENDING, the oldest first. One statement, so an
   * idle poll costs one round trip and no transaction id.
   */
  async takeDue(limit: number): Promise<DueDeadline[]> {
    const rows: Array<{ orderId: string; customerId: string; causationId: string; correlationId: string }> = await this.dataSource.query(
      `WITH settled AS (
         DELETE FROM order_deadlines d USING orders o
         WHERE d.due_at <= clock_timestamp() AND o.id = d.order_id AND o.status <> 'PENDING'
       )
       SELECT d.order_id AS "orderId", o.customer_id AS "customerId", d.causation_id AS "causationId", d.correlation_id AS "correlationId"
       FROM order_deadlines d JOIN orders o ON o.id = d.order_id
       WHERE d.due_at <= clock_timestamp() AND o.status = 'PENDING'
       ORDER BY d.due_at
       LIMIT $1`,
      [limit],
    );
    return rows.map(({ orderId, customerId, causationId, correlationId }) => ({ orderId, customerId, cause: { correlationId, causationId } }));
  }

  /**
   * Locks the order's deadline for `transaction`; false when another process holds it or it is
   * gone, so two watchers never fire the same timeout at once.
   */
  async claim(transaction: EntityManager, orderId: string): Promise<boolean> {
    const rows: unknown[] = await transaction.query(`SELECT 1 FROM order_deadlines WHERE order_id = $1 FOR UPDATE SKIP LOCKED`, [orderId]);
    return rows.length > 0;
  }

  /** Starts the order's wait again: due `timeoutMs` from now, inside `transaction`. */
  async postpone(transaction: EntityManager, orderId: string, timeoutMs: number): Promise<void> {
    await transaction.query(`UPDATE order_deadlines SET due_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000) WHERE order_id = $1`, [
      orderId,
      timeoutMs,
    ]);
  }

  async remove(transaction: EntityManager, orderId: string): Promise<void> {
    await transaction.query(`DELETE FROM order_deadlines WHERE order_id = $1`, [orderId]);
  }
}
