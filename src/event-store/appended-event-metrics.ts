import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsRegistry } from '../metrics/metrics-registry';
import { eventTypeOf } from './domain-event';

/** Hears of one event this process committed to the store; must be cheap and must not throw. */
export type CommittedEventObserver = (event: object) => void;

/**
 * `eda_events_appended_total{type}`: events this process committed to the store, by stored type
 * (`OrderPlaced`), counted once their transaction committed (AggregateWriter outside a
 * transaction, AppendedOnCommit at the commit of one): an append rolled back is never counted.
 * Features count what they care about among the same events through `observe` (the orders
 * module's saga outcomes) rather than query the store.
 */
@Injectable()
export class AppendedEventMetrics {
  private readonly appended: Counter<'type'>;
  private readonly observers: CommittedEventObserver[] = [];

  constructor(registry: MetricsRegistry) {
    this.appended = new Counter({
      name: 'eda_events_appended_total',
      help: 'Events committed to the event store by this process, by event type',
      labelNames: ['type'],
      registers: [registry],
    });
  }

  /** `observer` hears of every event this process commits from now on. */
  observe(observer: CommittedEventObserver): void {
    this.observers.push(observer);
  }

  /** Called with events whose append committed. */
  committed(events: readonly object[]): void {
    for (const event of events) {
      this.appended.inc({ type: eventTypeOf(event) });
      for (const observer of this.observers) observer(event);
    }
  }
}
