import { Counter } from 'prom-client';
import type { MetricsRegistry } from '../../metrics/metrics-registry';
import type { RetentionJob } from './retention-job';

/**
 * `eda_retention_rows_pruned_total{table}`: rows a retention job deleted for being older than
 * their retention (idempotency keys in the API, inbox rows in the consumer), counted per run.
 */
export function countPrunedRows(registry: MetricsRegistry, jobs: readonly RetentionJob[]): void {
  const pruned = new Counter({
    name: 'eda_retention_rows_pruned_total',
    help: 'Rows deleted for being older than their retention, by table',
    labelNames: ['table'],
    registers: [registry],
  });
  for (const job of jobs) {
    pruned.inc({ table: job.policy.table }, 0);
    job.onPruned(({ table, deleted }) => pruned.inc({ table }, deleted));
  }
}
