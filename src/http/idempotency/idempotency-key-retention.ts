import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../../config/environment';
import { ScheduledRetentionJob } from '../../database/retention/scheduled-retention-job';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import { AfterListening } from '../../shared/after-listening';

/**
 * Prunes `idempotency_keys` rows older than IDEMPOTENCY_KEY_RETENTION_HOURS (by `created_at`,
 * when the request first ran), in every API process, from when it listens until it stops.
 *
 * The lifetime of an `Idempotency-Key` is therefore at least the retention, and at most the
 * retention plus RETENTION_PRUNE_INTERVAL_MS: a retry within it replays the stored response; a
 * retry after its row was pruned is a NEW request, which runs the command again (a second order,
 * or a 409 where the first effect forbids a second one). Clients must not retry with a key older
 * than the retention; the draft "The Idempotency-Key HTTP Header Field"
 * (draft-ietf-httpapi-idempotency-key-header) asks servers to publish this expiry, which the
 * header's OpenAPI description does (src/api-document.ts).
 */
@Injectable()
export class IdempotencyKeyRetention extends ScheduledRetentionJob {
  constructor(
    @InjectDataSource() dataSource: DataSource,
    config: ConfigService<Environment, true>,
    afterListening: AfterListening,
    metrics: MetricsRegistry,
  ) {
    super(
      dataSource,
      {
        table: 'idempotency_keys',
        timestampColumn: 'created_at',
        rowsName: 'idempotency keys',
        retentionHours: config.get('IDEMPOTENCY_KEY_RETENTION_HOURS', { infer: true }),
        intervalMs: config.get('RETENTION_PRUNE_INTERVAL_MS', { infer: true }),
        batchSize: config.get('RETENTION_PRUNE_BATCH_SIZE', { infer: true }),
      },
      IdempotencyKeyRetention.name,
      afterListening,
      metrics,
    );
  }
}
