import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TransactionContext } from '../../../database/transaction-context';
import { AggregateWriter } from '../../../event-store/aggregate-writer';
import { CommandMetadata } from '../../../event-store/event-metadata';
import { Order } from '../domain/order';
import { OrderNotFoundError } from '../domain/order.errors';
import { ORDER_STREAM_TYPE } from '../domain/order.events';
import { OrderRepository } from '../domain/order.repository';
import { OrderRecord } from './order.record';

@Injectable()
export class TypeOrmOrderRepository extends OrderRepository {
  constructor(
    @InjectRepository(OrderRecord) private readonly records: Repository<OrderRecord>,
    private readonly writer: AggregateWriter,
    private readonly transactions: TransactionContext,
  ) {
    super();
  }

  async get(id: string): Promise<Order> {
    const record = await this.transactions.repository(this.records).findOneBy({ id });
    if (!record) throw new OrderNotFoundError(id);
    return Order.restore(record);
  }

  async pendingOf(customerId: string): Promise<Order[]> {
    // 'PENDING' stays a literal: with `status = $2` (what findBy sends) the generic plan of the
    // prepared statement cannot use the partial index orders_customer_pending_idx and scans
    // every order of the store (test/store-growth.e2e-spec.ts checks the plans).
    const records = await this.transactions
      .repository(this.records)
      .createQueryBuilder('o')
      .where('o.customer_id = :customerId', { customerId })
      .andWhere(`o.status = 'PENDING'`)
      .getMany();
    return records.map((record) => Order.restore(record));
  }

  async save(order: Order, metadata: CommandMetadata): Promise<void> {
    const row = order.snapshot();
    const rowChange =
      order.version === 0
        ? {
            sql: `INSERT INTO orders (id, customer_id, status, currency, lines, total, rejection_reason, version, created_at, updated_at)
                  VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $9) RETURNING 1`,
            params: [row.id, row.customerId, row.status, row.currency, JSON.stringify(row.lines), row.total, row.rejectionReason, row.version, row.updatedAt],
          }
        : {
            sql: `UPDATE orders SET status = $2, rejection_reason = $3, version = $4, updated_at = $5
                  WHERE id = $1 AND version = $6 RETURNING 1`,
            params: [row.id, row.status, row.rejectionReason, row.version, row.updatedAt, order.version],
          };
    await this.writer.write({ streamType: ORDER_STREAM_TYPE, aggregate: order, rowChange, metadata });
  }
}
