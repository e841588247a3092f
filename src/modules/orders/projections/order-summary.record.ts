import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../../database/bigint-column';
import type { OrderLine, OrderStatus } from '../domain/order';

/**
 * Read model behind the list (`GET /orders?customerId=&status=&limit=&cursor=`), built by
 * orderSummariesProjection after the commit, so eventually consistent; `GET /orders/{id}` reads
 * the order's own row (read-your-writes). What it has that the write row has not: the list's
 * keyset indexes, newest first by (created_at, id), alone, per customer and per status
 * (migrations/1763880000000-InitialSchema.ts), which every order's write would otherwise pay for.
 * Its columns are those of a list item (OrderView), so none goes unread.
 */
@Entity('order_summaries')
export class OrderSummaryRecord {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid', { name: 'customer_id' })
  customerId: string;

  @Column('text')
  status: OrderStatus;

  @Column('char', { length: 3 })
  currency: string;

  @Column('jsonb')
  lines: OrderLine[];

  @Column('bigint', { transformer: bigintAsNumber })
  total: number;

  @Column('text', { name: 'rejection_reason', nullable: true })
  rejectionReason: string | null;

  @Column('integer')
  version: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}
