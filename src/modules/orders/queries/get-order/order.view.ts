import type { OrderLine, OrderStatus } from '../../domain/order';
import type { OrderRecord } from '../../persistence/order.record';
import type { OrderSummaryRecord } from '../../projections/order-summary.record';

export interface OrderView {
  id: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  lines: OrderLine[];
  total: number;
  /** The stream version this view reflects; also its `ETag`. */
  version: number;
  rejectionReason?: string;
  createdAt: string;
  updatedAt: string;
}

/** From the order's own row (GET by id) or its summary in the projection (lists): same columns. */
export function toOrderView(record: OrderRecord | OrderSummaryRecord): OrderView {
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
