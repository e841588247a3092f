import { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import { AfterListening } from '../../shared/after-listening';
import { RetentionJob, type RetentionPolicy } from './retention-job';
import { countPrunedRows } from './retention.metrics';

/**
 * A RetentionJob run by a Nest app: its first run once the app listens (AfterListening), stopped
 * before the app shuts down, and the rows it prunes counted in the app's metrics
 * (`eda_retention_rows_pruned_total{table}`). A subclass gives only its policy.
 */
export abstract class ScheduledRetentionJob extends RetentionJob implements OnApplicationBootstrap, BeforeApplicationShutdown {
  protected constructor(
    dataSource: DataSource,
    policy: RetentionPolicy,
    loggerContext: string,
    private readonly afterListening: AfterListening,
    metrics: MetricsRegistry,
  ) {
    super(dataSource, policy, loggerContext);
    countPrunedRows(metrics, [this]);
  }

  onApplicationBootstrap(): void {
    this.afterListening.register(`${this.policy.rowsName} retention`, () => this.start());
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.stop();
  }
}
