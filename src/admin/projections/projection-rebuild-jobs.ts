import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { formatResult } from '../../cli/rebuild-report';
import { acquireRebuildLock, describeError, EventStoreManifests, EventUpcasters, isIdentical, type ProjectionDefinition, ProjectionRebuilder, ReadModelDifferences, RebuildAlreadyRunningError, RebuildLock, rebuildLockCondition, rebuildPermissionProblem, type RebuildProgress, RebuildResult } from '../../event-store';
import { ProjectionRebuildNotPermittedError } from '../admin.errors';
import { outsideTraces } from '../../tracing/trace-context';

export const REBUILD_JOB_STATUSES = ['running', 'completed', 'failed', 'interrupted'] as const;
export type RebuildJobStatus = (typeof REBUILD_JOB_STATUSES)[number];

/** What a finished replay came to (RebuildResult without the projection's name). */
export interface RebuildJobResult {
  eventsReplayed: number;
  differences: ReadModelDifferences;
  identical: boolean;
  /** Whether the rebuilt table replaced the live one. */
  swapped: boolean;
  seconds: number;
}

/** One rebuild of one projection as `projection_rebuild_jobs` records it. */
export interface RebuildJob {
  id: string;
  projection: string;
  status: RebuildJobStatus;
  batchSize: number;
  acceptDifferences: boolean;
  requestedBy: string;
  eventsDone: number;
  /** Events in the store at the start plus those appended since; null before the first report. */
  eventsTotal: number | null;
  eventsPerSecond: number | null;
  secondsLeft: number | null;
  result: RebuildJobResult | null;
  error: string | null;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export interface StartRebuild {
  batchSize: number;
  acceptDifferences: boolean;
  requestedBy: string;
}

/** Another rebuild of the projection holds its lock: `runningJob` is the job doing it, unless the CLI is. */
export class RebuildAlreadyRunning extends Error {
  constructor(
    readonly projection: string,
    readonly runningJob: RebuildJob | undefined,
  ) {
    super(`a rebuild of ${projection} is already running`);
  }
}

/** Progress is written at most this often (ms): one UPDATE per interval, whatever the batch size. */
const PROGRESS_WRITE_INTERVAL_MS = 500;

const JOB_COLUMNS = `id, projection, status, batch_size AS "batchSize", accept_differences AS "acceptDifferences",
  requested_by AS "requestedBy", events_done::float8 AS "eventsDone", events_total::float8 AS "eventsTotal",
  events_per_second AS "eventsPerSecond", seconds_left AS "secondsLeft", result, error,
  started_at AS "startedAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

/**
 * Projection rebuilds as jobs (what `npm run rebuild-projections` does, through the same
 * ProjectionRebuilder): started here, run in this process in the background, followed by anyone
 * through their row in `projection_rebuild_jobs`.
 *
 * What it survives:
 * - **Any process answers for it**: the job's state and progress are in PostgreSQL, written
 *   every PROGRESS_WRITE_INTERVAL_MS, so behind a load balancer a GET need not reach the runner.
 * - **One at a time per projection**, whoever starts it: the job holds the projection's rebuild
 *   lock (an advisory lock, which `npm run rebuild-projections` takes too) from before its row
 *   exists until after its outcome is written; a unique index allows one running row per
 *   projection on top.
 * - **Its process dying**: the lock goes with the session, so a job still `running` whose lock
 *   its backend (`runner_pid`) no longer holds is `interrupted`, marked so by the next look at it.
 *   The live table is untouched until the swap, one transaction; the leftover `_rebuild` table is
 *   dropped by the next rebuild. Start it again to rebuild: it is not restarted on its own (a
 *   rebuild that took its process down would do it again, and again).
 * - **A graceful shutdown**: the job is stopped between two batches (never inside the swap), its
 *   `_rebuild` table dropped, and it ends `interrupted`.
 */
@Injectable()
export class ProjectionRebuildJobs implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ProjectionRebuildJobs.name);
  private readonly rebuilder: ProjectionRebuilder;
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    upcasters: EventUpcasters,
    /** The read models it can rebuild: the modules' manifests' projections (the list `npm run rebuild-projections` rebuilds). */
    readonly manifests: EventStoreManifests,
  ) {
    this.rebuilder = new ProjectionRebuilder(dataSource, upcasters);
  }

  /**
   * Starts a rebuild of `projection` in the background and returns its job, `running`. Rejects
   * with ProjectionRebuildNotPermittedError when this process's database role may not rebuild it,
   * and with RebuildAlreadyRunning when another rebuild of it runs (a job, or the CLI).
   */
  async start(projection: ProjectionDefinition, options: StartRebuild): Promise<RebuildJob> {
    const problem = await rebuildPermissionProblem(this.dataSource, projection.table);
    if (problem) throw new ProjectionRebuildNotPermittedError(projection.name, projection.table, problem);
    await this.markInterrupted();
    let lock: RebuildLock;
    try {
      lock = await acquireRebuildLock(this.dataSource, projection.name);
    } catch (error) {
      if (error instanceof RebuildAlreadyRunningError) throw new RebuildAlreadyRunning(projection.name, await this.runningJobOf(projection.name));
      throw error;
    }
    let job: RebuildJob;
    try {
      [job] = await this.dataSource.query(
        `INSERT INTO projection_rebuild_jobs (id, projection, status, batch_size, accept_differences, requested_by, runner_pid)
         VALUES ($1, $2, 'running', $3, $4, $5, $6) RETURNING ${JOB_COLUMNS}`,
        [randomUUID(), projection.name, options.batchSize, options.acceptDifferences, options.requestedBy, lock.backendPid],
      );
    } catch (error) {
      await lock.release();
      throw error;
    }
    const abort = new AbortController();
    // Outside the request's trace, which ends long before (its lines keep the request's correlationId).
    const done = outsideTraces(() => this.run(job, projection, lock, abort.signal));
    this.running.set(job.id, { abort, done });
    void done.finally(() => this.running.delete(job.id));
    this.logger.log(`rebuild ${job.id} of ${projection.name} started by ${options.requestedBy} (batch size ${options.batchSize})`);
    return job;
  }

  /** The job, as its row says now (a `running` one whose process died shows `interrupted`); undefined when unknown. */
  async get(id: string): Promise<RebuildJob | undefined> {
    await this.markInterrupted();
    const [job]: RebuildJob[] = await this.dataSource.query(`SELECT ${JOB_COLUMNS} FROM projection_rebuild_jobs WHERE id = $1`, [id]);
    return job;
  }

  /** Jobs of this process stop between two batches and end `interrupted`; resolves once each has written so. */
  async beforeApplicationShutdown(): Promise<void> {
    const jobs = [...this.running.values()];
    for (const { abort } of jobs) abort.abort(new Error('the API process shut down'));
    await Promise.all(jobs.map(({ done }) => done));
  }

  private async run(job: RebuildJob, projection: ProjectionDefinition, lock: RebuildLock, signal: AbortSignal): Promise<void> {
    // The latest report is written at most every PROGRESS_WRITE_INTERVAL_MS, and at the latest
    // that long after it came: a rebuild that waits (for the live projector) shows where it is.
    let latest: RebuildProgress | undefined;
    let writtenAt = 0;
    let pending: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    const write = () => {
      clearTimeout(pending);
      pending = undefined;
      const progress = latest;
      if (!progress) return;
      latest = undefined;
      writtenAt = Date.now();
      writing = writing.then(() => this.writeProgress(job.id, progress));
    };
    const report = (progress: RebuildProgress) => {
      latest = progress;
      const wait = PROGRESS_WRITE_INTERVAL_MS - (Date.now() - writtenAt);
      if (wait <= 0) write();
      else pending ??= setTimeout(write, wait);
    };
    try {
      const result = await this.rebuilder.rebuildHoldingLock(lock, projection, {
        batchSize: job.batchSize,
        acceptDifferences: job.acceptDifferences,
        signal,
        onProgress: report,
      });
      write();
      await writing;
      await this.finish(job.id, 'completed', { result: toJobResult(result) });
      const line = `rebuild ${job.id} completed: ${formatResult(result)}`;
      if (result.swapped) this.logger.log(line);
      else this.logger.warn(line);
    } catch (error) {
      write();
      await writing.catch(() => undefined);
      const status = signal.aborted ? 'interrupted' : 'failed';
      const reason = signal.aborted ? describeError(signal.reason) : describeError(error);
      await this.finish(job.id, status, { error: reason }).catch((cause: unknown) =>
        this.logger.error(`rebuild ${job.id}: recording that it ${status} failed: ${describeError(cause)}`),
      );
      this.logger.error(`rebuild ${job.id} of ${projection.name} ${status}: ${reason}`);
    } finally {
      // After its outcome is written: a job whose lock is free is never taken for one that died.
      await lock.release().catch((error: unknown) => this.logger.warn(`rebuild ${job.id}: releasing its lock failed: ${describeError(error)}`));
    }
  }

  private async writeProgress(id: string, { eventsDone, eventsTotal, eventsPerSecond, secondsLeft }: RebuildProgress): Promise<void> {
    await this.dataSource
      .query(
        `UPDATE projection_rebuild_jobs SET events_done = $2, events_total = $3, events_per_second = $4, seconds_left = $5, updated_at = clock_timestamp()
         WHERE id = $1 AND status = 'running'`,
        [id, eventsDone, eventsTotal, eventsPerSecond, secondsLeft ?? null],
      )
      .catch((error: unknown) => this.logger.warn(`rebuild ${id}: writing its progress failed: ${describeError(error)}`));
  }

  private async finish(id: string, status: RebuildJobStatus, outcome: { result?: RebuildJobResult; error?: string }): Promise<void> {
    await this.dataSource.query(
      `UPDATE projection_rebuild_jobs
       SET status = $2, result = $3, error = $4, seconds_left = CASE WHEN $2 = 'completed' THEN 0 ELSE seconds_left END,
           finished_at = clock_timestamp(), updated_at = clock_timestamp()
       WHERE id = $1 AND status = 'running'`,
      [id, status, outcome.result ? JSON.stringify(outcome.result) : null, outcome.error ?? null],
    );
  }

  /** Jobs still `running` whose backend no longer holds the projection's rebuild lock: their process died. */
  private async markInterrupted(): Promise<void> {
    await this.dataSource.query(
      `UPDATE projection_rebuild_jobs j
       SET status = 'interrupted', error = 'the process running it stopped before it finished', finished_at = clock_timestamp(), updated_at = clock_timestamp()
       WHERE j.status = 'running'
         AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = j.runner_pid AND ${rebuildLockCondition('j.projection')})`,
    );
  }

  private async runningJobOf(projection: string): Promise<RebuildJob | undefined> {
    const [job]: RebuildJob[] = await this.dataSource.query(
      `SELECT ${JOB_COLUMNS} FROM projection_rebuild_jobs WHERE projection = $1 AND status = 'running'`,
      [projection],
    );
    return job;
  }
}

function toJobResult({ eventsReplayed, differences, swapped, seconds }: RebuildResult): RebuildJobResult {
  return { eventsReplayed, differences, identical: isIdentical(differences), swapped, seconds };
}
