import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { bigintToNumber } from '../../../database/bigint-column';
import { TransactionContext } from '../../../database/transaction-context';
import { AggregateRow, AggregateTable, AggregateWriter } from '../../../event-store';
import { Order, OrderLine, OrderSnapshot, OrderStatus } from '../domain/order';
import { OrderNotFoundError } from '../domain/order.errors';
import { OrderDeadlines } from '../deadlines/order-deadlines';
import { ORDER_STREAM_TYPE, OrderPlacedEvent } from '../domain/order.events';
import { OrderRepository } from '../domain/order.repository';
import { OrderRecord } from './order.record';

/** An orders row as pg returns it (its default type parsers), column by column. */
interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  /** char(3) */
  currency: string;
  /** jsonb: parsed */
  lines: OrderLine[];
  /** bigint: a string */
  total: string;
  rejection_reason: string | null;
  version: number;
  /** timestamptz: a Date */
  created_at: Date;
  updated_at: Date;
}

/** Every column of OrderRow, for the loads below. */
const ORDER_COLUMNS = 'id, customer_id, status, currency, lines, total, rejection_reason, version, created_at, updated_at';

/** The row as the record TypeORM hydrated from it (bigint through bigintAsNumber), which Order.restore takes. */
function toOrderRecord(row: OrderRow): OrderRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    currency: row.currency,
    lines: row.lines,
    total: bigintToNumber(row.total),
    rejectionReason: row.rejection_reason,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** What an order's save may change: the placement (customer, currency, lines, total) never does. */
const ORDERS_TABLE: AggregateTable = { name: 'orders', key: 'id', insertOnly: ['customer_id', 'currency', 'lines', 'total', 'created_at'] };

/** The orders row of an order's state, every column of OrderRow, as the writer sends it (jsonb as JSON text). */
function toOrderRow(order: OrderSnapshot): AggregateRow & Record<keyof OrderRow, unknown> {
  return {
    id: order.id,
    customer_id: order.customerId,
    status: order.status,
    currency: order.currency,
    lines: JSON.stringify(order.lines),
    total: order.total,
    rejection_reason: order.rejectionReason,
    version: order.version,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
  };
}

/**
 * Loads are plain SQL, not TypeORM's query builder: building the query and hydrating the entity
 * cost TypeORM more CPU than the statement itself costs the server. With parameters, the pool's
 * connections send it as a named prepared statement (prepareParameterizedStatements); inside an
 * outer transaction it runs on that transaction's connection.
 */
@Injectable()
export class TypeOrmOrderRepository extends OrderRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly writer: AggregateWriter,
    private readonly transactions: TransactionContext,
    private readonly deadlines: OrderDeadlines,
  ) {
    super();
  }

  async get(id: string): Promise<Order> {
    const rows: OrderRow[] = await this.transactions.queryable(this.dataSource).query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [id]);
    if (rows.length === 0) throw new OrderNotFoundError(id);
    return Order.restore(toOrderRecord(rows[0]));
  }

  async pendingOf(customerId: string): Promise<Order[]> {
    // 'PENDING' stays a literal: with `status = $2` (what findBy would send) the generic plan of the
    // prepared statement cannot use the partial index orders_customer_pending_idx and scans
    // every order of the store (test/store-growth.e2e-spec.ts checks the plans).
    const rows: OrderRow[] = await this.transactions.queryable(this.dataSource).query(`SELECT ${ORDER_COLUMNS} FROM orders WHERE customer_id = $1 AND status = 'PENDING'`, [customerId]);
    return rows.map((row) => Order.restore(toOrderRecord(row)));
  }

  /** A placement writes the order's deadline in the same statement (OrderDeadlines.ofPlacement). */
  async save(order: Order): Promise<void> {
    const placed = order.getUncommittedEvents().some((event) => event instanceof OrderPlacedEvent);
    await this.writer.write({
      streamType: ORDER_STREAM_TYPE,
      aggregate: order,
      table: ORDERS_TABLE,
      row: toOrderRow(order.snapshot()),
      ownedRows: placed ? [this.deadlines.ofPlacement(order.id)] : [],
    });
  }
}
