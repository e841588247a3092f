import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { CreditRejectionReasonV1 } from '../../../contracts';
import { AppendedEventMetrics } from '../../../event-store';
import { MetricsRegistry } from '../../../metrics/metrics-registry';
import { TIMEOUT_REASON } from '../deadlines/order-deadline-watcher';
import { OrderConfirmedEvent, OrderRejectedEvent } from '../domain/order.events';
import { CUSTOMER_DEACTIVATED_REASON } from './order-fulfilment.saga';

/**
 * The `reason` label of each rejection reason the saga and its deadline give: a small fixed set,
 * so the number of series stays bounded; any other reason counts as `other`.
 */
export const REJECTION_REASON_LABELS: Readonly<Record<CreditRejectionReasonV1 | typeof TIMEOUT_REASON, string>> = {
  'insufficient credit': 'insufficient_credit',
  [CUSTOMER_DEACTIVATED_REASON]: 'customer_deactivated',
  [TIMEOUT_REASON]: 'timeout',
};

export function rejectionReasonLabel(reason: string): string {
  return (REJECTION_REASON_LABELS as Record<string, string | undefined>)[reason] ?? 'other';
}

/**
 * How the order saga decides orders: `eda_orders_confirmed_total` and
 * `eda_orders_rejected_total{reason}`, counted from the OrderConfirmed and OrderRejected events
 * this process commits (so a saga command that was a no-op, or rolled back, counts nothing).
 */
@Injectable()
export class OrderOutcomeMetrics {
  constructor(registry: MetricsRegistry, appended: AppendedEventMetrics) {
    const confirmed = new Counter({
      name: 'eda_orders_confirmed_total',
      help: 'Orders the saga confirmed (credit reserved)',
      registers: [registry],
    });
    const rejected = new Counter({
      name: 'eda_orders_rejected_total',
      help: 'Orders rejected, by reason (insufficient_credit, customer_deactivated, timeout, other)',
      labelNames: ['reason'],
      registers: [registry],
    });
    appended.observe((event) => {
      if (event instanceof OrderConfirmedEvent) confirmed.inc();
      else if (event instanceof OrderRejectedEvent) rejected.inc({ reason: rejectionReasonLabel(event.reason) });
    });
  }
}
