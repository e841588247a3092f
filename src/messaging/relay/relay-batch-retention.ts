import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../../config/environment';
import { ScheduledRetentionJob } from '../../database/retention/scheduled-retention-job';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import { AfterListening } from '../../shared/after-listening';

/**
 * Prunes `relay_batches` rows older than RELAY_BATCH_RETENTION_HOURS (by `confirmed_at`), in every
 * API process, from when it listens until it stops. A flow older than that shows its publishes
 * without their times (GET /flows/{correlationId}); nothing else reads the table.
 */
@Injectable()
export class RelayBatchRetention extends ScheduledRetentionJob {
  constructor(
    @InjectDataSource() dataSource: DataSource,
    config: ConfigService<Environment, true>,
    afterListening: AfterListening,
    metrics: MetricsRegistry,
  ) {
    super(
      dataSource,
      {
        table: 'relay_batches',
        timestampColumn: 'confirmed_at',
        rowsName: 'relay batches',
        retentionHours: config.get('RELAY_BATCH_RETENTION_HOURS', { infer: true }),
        intervalMs: config.get('RETENTION_PRUNE_INTERVAL_MS', { infer: true }),
        batchSize: config.get('RETENTION_PRUNE_BATCH_SIZE', { infer: true }),
      },
      RelayBatchRetention.name,
      afterListening,
      metrics,
    );
  }
}
