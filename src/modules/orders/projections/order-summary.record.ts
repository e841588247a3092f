import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../../database/bigint-column';
import type { OrderLine, OrderStatus } from '../domain/order';

/**
 * Read model behind the lists (`GET /orders?…`), built by orderSummariesProjection after the commit,
 * so eventually consistent; `GET /orders/{id}` reads the order's own row (read-your-writes).
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
