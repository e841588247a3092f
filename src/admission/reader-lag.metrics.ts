import { Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { describeError } from '../event-store';
import { MetricsRegistry, SCRAPE_QUERY_TIMEOUT_MS } from '../metrics/metrics-registry';
import { SingleFlight } from '../shared/single-flight';
import { withinTimeLimit } from '../shared/time-limit';
import { AsynchronousLag, SampledReader } from './asynchronous-lag';

/**
 * Each reader of the event store in this code (projections, reactions, the relay), whichever
 * process runs it: `eda_subscription_lag_events` (committed events it has yet to take) and
 * `eda_subscription_lag_seconds` (age of the oldest of them, 0 when caught up), labelled by
 * `subscription` and `segment` ("0" unless SUBSCRIPTION_SEGMENTS splits it). Measured at scrape
 * time by the one statement admission control and /health use (LAG_SAMPLE_SQL, indexes only):
 * one query per scrape, nothing per event. A scrape whose query fails, or takes over
 * SCRAPE_QUERY_TIMEOUT_MS, reports no lag (and logs why).
 */
@Injectable()
export class ReaderLagMetrics {
  private readonly logger = new Logger(ReaderLagMetrics.name);

  constructor(registry: MetricsRegistry, lag: AsynchronousLag) {
    // Measured once per scrape, shared by both gauges (prom-client collects them concurrently).
    const snapshot = new SingleFlight(() =>
      withinTimeLimit(lag.readers(), SCRAPE_QUERY_TIMEOUT_MS, 'PostgreSQL').catch((error: unknown): SampledReader[] => {
        this.logger.warn(`cannot measure the readers' lag for /metrics: ${describeError(error)}`);
        return [];
      }),
    );
    const gauge = (name: string, help: string, valueOf: (reader: SampledReader) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['subscription', 'segment'],
        registers: [registry],
        async collect() {
          const readers = await snapshot.run();
          // A reader gone (its code removed, its segments changed) disappears from the scrape.
          this.reset();
          for (const reader of readers) this.set({ subscription: reader.subscriptionId, segment: String(reader.segment) }, valueOf(reader));
        },
      });
    gauge('eda_subscription_lag_events', 'Committed events a reader of the event store has yet to take', (reader) => reader.lagEvents);
    gauge('eda_subscription_lag_seconds', 'Age of the oldest event a reader of the event store has yet to take (0 when caught up)', (reader) => reader.lagSeconds);
  }
}
