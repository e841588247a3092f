import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ScheduledRetentionJob } from '../../database/retention/scheduled-retention-job';
import { MetricsRegistry } from '../../metrics/metrics-registry';
import { AfterListening } from '../../shared/after-listening';
import type { ConsumerEnvironment } from '../config/consumer-environment';

/** The consumer's retention settings (a provider, so that the job reads them from the validated environment). */
export class InboxRetentionSettings {
  constructor(readonly environment: Pick<ConsumerEnvironment, 'INBOX_RETENTION_HOURS' | 'RETENTION_PRUNE_INTERVAL_MS' | 'RETENTION_PRUNE_BATCH_SIZE'>) {}
}

/**
 * Prunes `inbox` rows applied more than INBOX_RETENTION_HOURS ago (by `applied_at`), from when
 * the consumer listens until it stops.
 *
 * Why a pruned row lets no duplicate through: the inbox refuses an event as a duplicate when its
 * `sequence` is at or below its stream's `stream_positions.last_sequence`, and that check comes
 * FIRST (InboxTransactions, decideBatch); the event id in `inbox` is looked at only for a sequence
 * above it. Positions only grow and are never pruned, and an applied event's sequence is at or
 * below its stream's position from its commit on. So a redelivery of an applied event, however
 * late (a requeue, a retry queue, a dead letter redriven, `republish-events` months later), is
 * refused by its sequence with or without its inbox row.
 *
 * The rule, then: an event is applied at most once for as long as its stream's position row is
 * kept (forever); the inbox row adds, only within the retention, the refusal of the same event id
 * arriving under a stream or sequence it was never applied at (a publisher bug, not a
 * redelivery), which past the retention would be applied as the new event it claims to be.
 * Deleting `stream_positions` rows would break this rule; nothing here does.
 */
@Injectable()
export class InboxRetention extends ScheduledRetentionJob {
  constructor(
    @InjectDataSource() dataSource: DataSource,
    { environment }: InboxRetentionSettings,
    afterListening: AfterListening,
    metrics: MetricsRegistry,
  ) {
    super(
      dataSource,
      {
        table: 'inbox',
        timestampColumn: 'applied_at',
        rowsName: 'inbox rows',
        retentionHours: environment.INBOX_RETENTION_HOURS,
        intervalMs: environment.RETENTION_PRUNE_INTERVAL_MS,
        batchSize: environment.RETENTION_PRUNE_BATCH_SIZE,
      },
      InboxRetention.name,
      afterListening,
      metrics,
    );
  }
}
