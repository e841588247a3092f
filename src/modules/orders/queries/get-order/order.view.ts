import type { OrderLine, OrderStatus } from '../../domain/order';
import type { OrderSummaryRecord } from '../../projections/order-summary.record';

export interface OrderView {
  id: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  lines: OrderLine[];
  total: number;
  version: number;
  rejectionReason?: string;
  createdAt: string;
  updatedAt: string;
}

export function toOrderView(record: OrderSummaryRecord): OrderView {
  return {
    id: record.id,
    customerId: record.customerId,
    status: record.status,
    currency: record.currency,
    lines: record.lines,
    total: record.total,
    version: record.version,
    ...(record.rejectionReason ? { rejectionReason: record.rejectionReason } : {}),
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}
