import { Counter } from 'prom-client';
import type { MetricsRegistry } from '../../metrics/metrics-registry';
import type { RetentionJob } from './retention-job';

const PRUNED_ROWS = 'eda_retention_rows_pruned_total';

/**
 * `eda_retention_rows_pruned_total{table}`: rows a retention job deleted for being older than
 * their retention (idempotency keys and relay batches in the API, inbox rows in the consumer), counted per run.
 */
export function countPrunedRows(registry: MetricsRegistry, jobs: readonly RetentionJob[]): void {
  // One counter per registry, whichever job registers first; the others count into it.
  const pruned =
    (registry.getSingleMetric(PRUNED_ROWS) as Counter<'table'> | undefined) ??
    new Counter({
      name: PRUNED_ROWS,
      help: 'Rows deleted for being older than their retention, by table',
      labelNames: ['table'],
      registers: [registry],
    });
  for (const job of jobs) {
    pruned.inc({ table: job.policy.table }, 0);
    job.onPruned(({ table, deleted }) => pruned.inc({ table }, deleted));
  }
}
