import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ConfigService } from '@nestjs/config';
import { DataSource, EntityManager } from 'typeorm';
import { Environment } from '../../../config/environment';
import { commandCause, type CommandMetadata, type OwnedRowsChange } from '../../../event-store';
import { OrderPlacedEvent } from '../domain/order.events';

/** What one poll of the watcher found (OrderDeadlines.poll). */
export interface DeadlinePoll {
  /** Deadlines that have fallen due while their orders are still PENDING. */
  due: PendingOrderDeadline[];
  /** Deadlines not due yet, in their last wait: the credit reaction was seen at the order. */
  inCreditWait: PendingOrderDeadline[];
}

/** A deadline of an order still PENDING. */
export interface PendingOrderDeadline {
  orderId: string;
  customerId: string;
  /** The OrderPlaced event that started the wait, and its correlation id: the cause of the rejection. */
  cause: CommandMetadata;
}

/**
 * Starts an order's wait for its credit answer in the statement that places it (an OwnedRowsChange
 * of the order's write): due `$2` ms after the placement, with the OrderPlaced event of the same
 * statement as its cause (`appended`, see OwnedRowsChange). No saga step, no transaction of its
 * own: an order is never PENDING without its deadline. Lag of the Users module's credit reaction
 * never counts against it (OrderDeadlineWatcher starts the wait again while that one has not come
 * to the order).
 */
const DEADLINE_OF_PLACEMENT = `INSERT INTO order_deadlines (order_id, due_at, causation_id, correlation_id)
  SELECT $1, clock_timestamp() + make_interval(secs => $2::double precision / 1000), a.event_id, $3
  FROM appended a WHERE a.event_type = '${OrderPlacedEvent.type}'
  ON CONFLICT (order_id) DO NOTHING`;

/**
 * The `order_deadlines` table: one durable timeout per PENDING order, written with the order's
 * placement. Times are the database's clock, so every API process agrees on what is due whatever
 * its own clock says.
 */
@Injectable()
export class OrderDeadlines {
  private readonly timeoutMs: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    config: ConfigService<Environment, true>,
  ) {
    this.timeoutMs = config.get('ORDER_CONFIRMATION_TIMEOUT_MS', { infer: true });
  }

  /**
   * The deadline of an order being placed, as a change the order's write makes in its one
   * statement: due ORDER_CONFIRMATION_TIMEOUT_MS from the write, caused by its OrderPlaced event
   * (whose rejection, when it fires, is caused by that event in turn), in the placement's
   * correlation. Writes nothing when the write appends no OrderPlaced.
   * @throws MissingCommandCauseError outside a command's cause
   */
  ofPlacement(orderId: string): OwnedRowsChange {
    return { sql: DEADLINE_OF_PLACEMENT, params: [orderId, this.timeoutMs, commandCause().correlationId] };
  }

  /**
   * One poll's look at the table, in one statement (an idle poll costs one round trip and no
   * transaction id): removes every due deadline whose order was decided meanwhile (a no-op
   * timeout), then returns up to `limit` due deadlines of orders still PENDING, the oldest first,
   * and up to `limit` deadlines of PENDING orders in their last wait (startCreditWait), the soonest
   * due first, whose credit reaction the watcher checks is still at the order.
   */
  async poll(limit: number): Promise<DeadlinePoll> {
    const rows: Array<{ kind: 'due' | 'waiting'; orderId: string; customerId: string; causationId: string; correlationId: string }> = await this.dataSource.query(
      `WITH settled AS (
         DELETE FROM order_deadlines d USING orders o
         WHERE d.due_at <= clock_timestamp() AND o.id = d.order_id AND o.status <> 'PENDING'
       )
       (SELECT 'due' AS kind, d.order_id AS "orderId", o.customer_id AS "customerId", d.causation_id AS "causationId", d.correlation_id AS "correlationId"
        FROM order_deadlines d JOIN orders o ON o.id = d.order_id
        WHERE d.due_at <= clock_timestamp() AND o.status = 'PENDING'
        ORDER BY d.due_at
        LIMIT $1)
       UNION ALL
       (SELECT 'waiting', d.order_id, o.customer_id, d.causation_id, d.correlation_id
        FROM order_deadlines d JOIN orders o ON o.id = d.order_id
        WHERE d.credit_reached_at IS NOT NULL AND d.due_at > clock_timestamp() AND o.status = 'PENDING'
        ORDER BY d.due_at
        LIMIT $1)`,
      [limit],
    );
    const poll: DeadlinePoll = { due: [], inCreditWait: [] };
    for (const { kind, orderId, customerId, causationId, correlationId } of rows) {
      (kind === 'due' ? poll.due : poll.inCreditWait).push({ orderId, customerId, cause: { correlationId, causationId } });
    }
    return poll;
  }

  /**
   * Locks the order's deadline for `transaction`, so two watchers never fire the same timeout at
   * once: undefined when another process holds it, it is gone, or it is no longer due, else
   * whether its wait already started again once the credit reaction was seen at the order
   * (startCreditWait). Due is asked again under the lock: another watcher that read the same due
   * deadline (takeDue) may have started its wait again since, and the wait must then run.
   */
  async claim(transaction: EntityManager, orderId: string): Promise<{ creditWaitStarted: boolean } | undefined> {
    const rows: Array<{ creditWaitStarted: boolean }> = await transaction.query(
      `SELECT credit_reached_at IS NOT NULL AS "creditWaitStarted" FROM order_deadlines
       WHERE order_id = $1 AND due_at <= clock_timestamp() FOR UPDATE SKIP LOCKED`,
      [orderId],
    );
    return rows[0];
  }

  /**
   * Starts the order's wait again, the credit reaction not at the order (lagging, or paused since
   * it was seen there): due `timeoutMs` from now, inside `transaction`, and it must be seen at
   * the order again before the order can time out.
   */
  async postpone(transaction: EntityManager, orderId: string, timeoutMs: number): Promise<void> {
    await transaction.query(
      `UPDATE order_deadlines SET due_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000), credit_reached_at = NULL
       WHERE order_id = $1`,
      [orderId, timeoutMs],
    );
  }

  /**
   * Starts the order's last wait, the credit reaction seen at the order (`credit_reached_at`): due
   * `timeoutMs` from now, inside `transaction`; when that falls due without an answer, the order
   * times out.
   */
  async startCreditWait(transaction: EntityManager, orderId: string, timeoutMs: number): Promise<void> {
    await transaction.query(
      `UPDATE order_deadlines SET due_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000), credit_reached_at = clock_timestamp()
       WHERE order_id = $1`,
      [orderId, timeoutMs],
    );
  }

  /**
   * Every last wait (startCreditWait) starts again: when such a deadline next falls due, the credit
   * reaction must be seen at its order once more, and then gets a whole timeout. For a process
   * that starts, or whose polls failed: a downtime may have passed since the waits started.
   */
  async restartCreditWaits(): Promise<void> {
    await this.dataSource.query(`UPDATE order_deadlines SET credit_reached_at = NULL WHERE credit_reached_at IS NOT NULL`);
  }

  /**
   * Ends the order's last wait, the credit reaction no longer at the order (paused, or fallen
   * behind it, since it was seen there): its wait starts again as postpone does. One statement: a
   * watcher firing the deadline meanwhile holds its row, and this then finds it gone or changed.
   */
  async endCreditWait(orderId: string, timeoutMs: number): Promise<void> {
    await this.dataSource.query(
      `UPDATE order_deadlines SET due_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000), credit_reached_at = NULL
       WHERE order_id = $1 AND credit_reached_at IS NOT NULL`,
      [orderId, timeoutMs],
    );
  }

  async remove(transaction: EntityManager, orderId: string): Promise<void> {
    await transaction.query(`DELETE FROM order_deadlines WHERE order_id = $1`, [orderId]);
  }
}
