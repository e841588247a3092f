import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { deleteOlderThan, type ExpiringRows } from './delete-older-than';

export interface RetentionPolicy extends ExpiringRows {
  /** What the rows are, plural, for the log line ("idempotency keys"). */
  rowsName: string;
  /** Rows older than this many hours are deleted (fractions allowed). */
  retentionHours: number;
  /** Milliseconds from the end of one run to the start of the next. */
  intervalMs: number;
  /** Rows deleted per statement, at most. */
  batchSize: number;
}

/** What one run deleted: the figures a metric counts (see RetentionJob.onPruned). */
export interface PruneReport {
  /** The table pruned, e.g. `inbox`. */
  table: string;
  deleted: number;
  statements: number;
  retentionHours: number;
  durationMs: number;
}

/**
 * Prunes one table of rows older than its retention, now and then: the first run at `start()`
 * (which each process calls once it listens), then one `intervalMs` after the previous run ended,
 * never two at once; `stop()` (at shutdown) cancels the next run and waits for the current one to
 * finish its batch. Each run that deleted rows logs one line with the count; one that found
 * nothing logs at debug level; a failed run logs a warning and the next run tries again.
 * `onPruned` listeners hear every successful run's PruneReport (a metric attaches there).
 */
export class RetentionJob {
  private readonly logger: Logger;
  private readonly listeners = new Set<(report: PruneReport) => void>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private started = false;
  /** Set by stop(): the run in progress ends after its current statement, and no other starts. */
  private stopping = false;

  constructor(
    private readonly dataSource: DataSource,
    readonly policy: RetentionPolicy,
    loggerContext: string,
  ) {
    this.logger = new Logger(loggerContext);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    this.runThenSchedule();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.started = false;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Calls `listener` after every successful run; returns a function that removes it. */
  onPruned(listener: (report: PruneReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One run now, whether started or not; rejects when a statement fails (what it deleted before stays deleted). */
  async pruneNow(): Promise<PruneReport> {
    const { table, timestampColumn, retentionHours, batchSize, rowsName } = this.policy;
    const startedAt = performance.now();
    const { deleted, statements } = await deleteOlderThan(
      this.dataSource,
      { table, timestampColumn },
      { retentionSeconds: retentionHours * 3600, batchSize, shouldStop: () => this.stopping },
    );
    const report: PruneReport = { table, deleted, statements, retentionHours, durationMs: Math.round(performance.now() - startedAt) };
    const line = `pruned ${deleted} ${rowsName} older than ${retentionHours} h from ${table} in ${statements} statement(s), ${report.durationMs} ms`;
    if (deleted > 0) this.logger.log(line);
    else this.logger.debug(line);
    for (const listener of this.listeners) listener(report);
    return report;
  }

  private runThenSchedule(): void {
    this.running = this.pruneNow()
      .catch((error: unknown) =>
        this.logger.warn(`pruning ${this.policy.rowsName} failed, trying again in ${this.policy.intervalMs} ms: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => {
        this.running = undefined;
        if (this.stopping) return;
        this.timer = setTimeout(() => this.runThenSchedule(), this.policy.intervalMs);
        this.timer.unref();
      });
  }
}
