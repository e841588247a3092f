import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Projection rebuilds started through the admin API (src/event-store/rebuild/rebuild-jobs.ts):
 * one row per rebuild, its progress and outcome, so that any API process answers for it and it
 * outlives the process that ran it. At most one runs per projection.
 */
export class ProjectionRebuildJobs1765000100000 implements MigrationInterface {
  name = 'ProjectionRebuildJobs1765000100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE projection_rebuild_jobs (
        id                 uuid             PRIMARY KEY,
        projection         text             NOT NULL,
        status             text             NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
        batch_size         integer          NOT NULL,
        accept_differences boolean          NOT NULL,
        requested_by       text             NOT NULL,
        -- The backend holding the projection's rebuild lock while the job runs: gone, the job was interrupted.
        runner_pid         integer,
        events_done        bigint           NOT NULL DEFAULT 0,
        events_total       bigint,
        events_per_second  double precision,
        seconds_left       double precision,
        result             jsonb,
        error              text,
        started_at         timestamptz      NOT NULL DEFAULT clock_timestamp(),
        updated_at         timestamptz      NOT NULL DEFAULT clock_timestamp(),
        finished_at        timestamptz
      )`);
    await db.query(`CREATE UNIQUE INDEX projection_rebuild_jobs_one_running ON projection_rebuild_jobs (projection) WHERE status = 'running'`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE projection_rebuild_jobs`);
  }
}
