import { Logger, type LoggerService } from '@nestjs/common';
import type { TypeOrmDataSourceFactory } from '@nestjs/typeorm';
import type { Client } from 'pg';
import { DataSource, type DataSourceOptions, type Migration } from 'typeorm';
import { boundPoolEnd, endConnection } from './end-connection';
import { databaseSilenceAtStop, type WatchedPool } from './stop-database-wait';
import { boundedLeaseStatements, connectLeaseSession, leaseSessionClient, processLabel } from './lease-session';
import { withoutStatementReplyTimeout } from './statement-reply-timeout';

/**
 * The advisory lock key of each schema set's migration runs: one bigint each, outside the int4
 * range, so no key the project derives with `hashtext()` (the relay and rebuild leases, any
 * `hashtext(key)` lock: all int4) can equal one, and apart from SEQUENCER_LOCK_KEY
 * (7283640019273645101). The segment leases use the two-int4 form, another key space altogether.
 * Advisory locks are per database, so the API's and the consumer's runs never wait on each other
 * when their databases differ, whatever the keys; distinct keys keep them apart on one database too.
 */
export const MIGRATION_LOCKS = {
  api: { schema: 'api', key: '7283640019273645201' },
  consumer: { schema: 'consumer', key: '7283640019273645202' },
} as const;

export type MigrationLockKey = (typeof MIGRATION_LOCKS)[keyof typeof MIGRATION_LOCKS];

export interface MigrationLockSettings {
  lock: MigrationLockKey;
  /** Milliseconds to wait for another process's run to end before giving up; 0: no bound. */
  waitMs: number;
  /** Where the wait is told; the `Migrations` Nest logger unless given. */
  logger?: Pick<LoggerService, 'log'>;
  /** Milliseconds between two "still waiting" lines (default 30 000). */
  waitReportMs?: number;
  /**
   * How long the lock session's connect and its own statements (the lock's polls, the look at its
   * holder) wait for PostgreSQL's answer (the apps: DATABASE_STATEMENT_REPLY_TIMEOUT_MS); then the
   * start fails, as when the pool cannot reach the server. 0 or unset: no bound (the CLIs).
   */
  replyTimeoutMs?: number;
}

/** Another process held the migration lock for longer than MIGRATION_LOCK_WAIT_MS. */
export class MigrationLockTimeoutError extends Error {}

/** The migration lock's session ended while this process's migrations ran: another process may have migrated meanwhile. */
export class MigrationLockLostError extends Error {}

const WAIT_REPORT_MS = 30_000;
/** How often a waiting process asks for the lock again: the most a waiter starts later than it could. */
const LOCK_POLL_MS = 250;

/**
 * Runs `dataSource`'s pending migrations while holding the schema set's migration lock, so that of
 * the processes starting at once against one database (replicas of a deployment, a CLI), one
 * migrates and the others wait, then find nothing pending. Resolves with the migrations this call
 * applied (TypeORM's `runMigrations`, in the DataSource's own transaction mode).
 *
 * The lock is a session-level advisory lock on `lock.key` (one bigint), on a connection of its own
 * to the DataSource's database (its `url`), opened for the run and closed after it; not a
 * transaction's, since a migration may run outside one (CREATE INDEX CONCURRENTLY must). It lives
 * as long as that session: a migrator that crashes or is killed leaves nothing behind, PostgreSQL releases the lock when the connection drops (when its
 * machine vanishes, within about 25 s: leaseSessionClient's keepalive). A pooler in transaction
 * mode in front of PostgreSQL would break it, as it breaks every session lock of the project.
 *
 * The migrations' statements run without the pool's statement reply timeout
 * (withoutStatementReplyTimeout): one may run for minutes.
 *
 * A process that finds the lock taken logs who holds it (the holder's session is named
 * `migrations:<schema> host=<host> pid=<pid>` in pg_stat_activity), a line every `waitReportMs`
 * while it waits, and how long it waited once it has the lock. The wait is bounded by `waitMs`
 * (MIGRATION_LOCK_WAIT_MS) by default, because a waiter cannot tell a long migration from a stuck
 * one (a run blocked behind an old version's transaction, a holder whose machine is gone): a
 * bounded wait ends that in a failed start that names the holder, which an operator and the
 * orchestrator see, rather than replicas that hang without end; the holder's own run is never
 * bounded. 0 lifts the bound, for operators who bound the start elsewhere (a startup probe).
 *
 * @throws MigrationLockTimeoutError when the lock was not granted within `waitMs`
 * @throws MigrationLockLostError when the lock's session ended during the run (its migrations may be applied; a restart checks)
 * @throws Error when the DataSource is not a PostgreSQL one given by `url`
 * @throws what connecting or a migration throws; the lock is released in every case
 */
export async function runMigrationsUnderLock(dataSource: DataSource, settings: MigrationLockSettings): Promise<Migration[]> {
  const { lock } = settings;
  const logger = settings.logger ?? new Logger('Migrations');
  const session = leaseSessionClient(urlOf(dataSource), `migrations:${lock.schema} ${processLabel()}`, { replyTimeoutMs: settings.replyTimeoutMs });
  let lost = false;
  session.on('error', () => (lost = true));
  session.once('end', () => (lost = true));
  await connectLeaseSession(session);
  try {
    await takeLock(session, settings, logger);
    // A migration's statement (a backfill, an index build) may run for minutes: not bounded.
    const applied = await withoutStatementReplyTimeout(() => dataSource.runMigrations());
    if (lost) {
      throw new MigrationLockLostError(
        `the migration lock of the ${lock.schema} schema was lost while its migrations ran (its session ended): another process may have migrated at the same time; restart to check the schema`,
      );
    }
    return applied;
  } finally {
    await endConnection(session);
  }
}

/**
 * The names of the migrations the database at `url` records (its `migrations` table, in their
 * timestamps' order, as TypeORM orders them and the migrate command and the start line name the
 * latest: the last applied is not the latest for a row recorded by hand or a migration merged
 * late; none when the table does not exist), read while holding the schema set's
 * migration lock: after a run in progress ended, never halfway through one (each migration commits
 * on its own). It only reads: TypeORM's own look at what is pending creates the migrations table,
 * which neither a role without DDL rights nor a check that must write nothing may do.
 *
 * The lock's session is named `migrations:<schema> (check) host=<host> pid=<pid>`, held only for
 * the one read; a wait for another process's run is bounded and told as for a run.
 *
 * @throws MigrationLockTimeoutError when the lock was not granted within `waitMs`
 * @throws what connecting or reading throws
 */
export async function readRecordedMigrationsUnderLock(url: string, settings: MigrationLockSettings): Promise<string[]> {
  const { lock } = settings;
  const session = leaseSessionClient(url, `migrations:${lock.schema} (check) ${processLabel()}`, { replyTimeoutMs: settings.replyTimeoutMs });
  // A session lost mid-read fails the statement under way; the event itself needs a listener.
  session.on('error', () => undefined);
  await connectLeaseSession(session);
  try {
    await takeLock(session, settings, settings.logger ?? new Logger('Migrations'), 'checking what is applied');
    return await boundedLeaseStatements(async () => {
      const { rows: [{ exists }] } = await session.query<{ exists: boolean }>(`SELECT to_regclass('${MIGRATIONS_TABLE}') IS NOT NULL AS exists`);
      if (!exists) return [];
      const { rows } = await session.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY timestamp, id`);
      return rows.map(({ name }) => name);
    });
  } finally {
    await endConnection(session);
  }
}

/** TypeORM's table of applied migrations (the DataSources here leave `migrationsTableName` unset), found through the search_path as TypeORM finds it. */
const MIGRATIONS_TABLE = 'migrations';

/**
 * A TypeOrmModule `dataSourceFactory`: the DataSource initialized, then migrated under the lock
 * (the module's own options say `migrationsRun: false`), so that nothing which reads the schema
 * (projections, reactions, the relay, the inbox) starts before the run ended. A DataSource whose
 * run failed is closed before the error goes on.
 *
 * `migrations: 'check'` (DATABASE_MIGRATIONS=check): initialized only, nothing applied; the start
 * checked before building the app that nothing is pending (src/database/migration-check.ts).
 */
export function migratedDataSourceFactory(settings: MigrationLockSettings & { migrations?: 'run' | 'check' }): TypeOrmDataSourceFactory {
  return async (options?: DataSourceOptions) => {
    if (!options) throw new Error('migratedDataSourceFactory needs the DataSource options');
    const dataSource = new DataSource({ ...options, migrationsRun: false });
    await dataSource.initialize();
    // A stop while PostgreSQL is silent must not wait out the connects in progress.
    const { master } = dataSource.driver as unknown as { master?: Parameters<typeof boundPoolEnd>[0] & WatchedPool };
    if (master) {
      boundPoolEnd(master);
      // Nor, once PostgreSQL is found silent during the stop, wait for a connection.
      databaseSilenceAtStop.watchPool(master);
    }
    if (settings.migrations === 'check') return dataSource;
    try {
      await runMigrationsUnderLock(dataSource, settings);
      return dataSource;
    } catch (error) {
      await dataSource.destroy().catch(() => undefined);
      throw error;
    }
  };
}

/**
 * Whether TypeOrmModule should try again after `error` (its `toRetry`, 10 attempts 3 s apart): not
 * after a full wait for the lock, which a retry would only repeat. Anything else is retried as
 * before, a MigrationLockLostError too: the retry takes the lock again and finds what is pending.
 */
export function retriesAfter(error: unknown): boolean {
  return !(error instanceof MigrationLockTimeoutError);
}

/**
 * Takes the lock, waiting for it by polling `pg_try_advisory_lock` rather than blocking in
 * `pg_advisory_lock`: a statement blocked there holds its snapshot for as long as it waits, and a
 * CREATE INDEX CONCURRENTLY of the holder's run waits until every snapshot older than its own is
 * gone. The holder would wait on the waiter, which waits on the holder: a cycle through the
 * processes, which PostgreSQL's deadlock detector cannot see. Between polls the session is idle.
 */
/** Takes the schema set's migration lock, waiting (bounded by `waitMs`) for the process that holds it; `then` says in the log what comes once it is taken. */
async function takeLock(
  session: Client,
  { lock, waitMs, waitReportMs = WAIT_REPORT_MS }: MigrationLockSettings,
  logger: Pick<LoggerService, 'log'>,
  then = 'migrating',
): Promise<void> {
  if (await tryLock(session, lock)) return;

  const began = Date.now();
  const bound = waitMs > 0 ? `up to ${seconds(waitMs)}` : 'without a bound';
  logger.log(`another process is migrating the ${lock.schema} schema (the lock is held by ${await describeHolder(session, lock)}): waiting ${bound} for its run to end`);
  let reported = began;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    if (await tryLock(session, lock)) break;
    const now = Date.now();
    if (waitMs > 0 && now - began >= waitMs) {
      throw new MigrationLockTimeoutError(
        `gave up after waiting ${seconds(now - began)} for the migration lock of the ${lock.schema} schema, held by ${await describeHolder(session, lock)}: ` +
          `its run may be stuck (see pg_stat_activity for its queries and what they wait on); MIGRATION_LOCK_WAIT_MS sets the wait`,
      );
    }
    if (now - reported >= waitReportMs) {
      reported = now;
      logger.log(`still waiting for the migration lock of the ${lock.schema} schema, ${seconds(now - began)} so far`);
    }
  }
  logger.log(`waited ${Date.now() - began} ms for the migration lock of the ${lock.schema} schema; ${then} now`);
}

async function tryLock(session: Client, lock: MigrationLockKey): Promise<boolean> {
  const { rows } = await boundedLeaseStatements(() => session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [lock.key]));
  return rows[0].locked;
}

/** The session holding `lock` in this database, as pg_stat_activity names it; 'another session' when it just ended. */
async function describeHolder(session: Client, lock: MigrationLockKey): Promise<string> {
  const { rows } = await boundedLeaseStatements(() => session.query<{ pid: number; application_name: string; backend_start: Date }>(
    `SELECT a.pid, a.application_name, a.backend_start
     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid::text::bigint = ($1::bigint >> 32) & 4294967295
       AND l.objid::text::bigint = $1::bigint & 4294967295`,
    [lock.key],
  ));
  const [holder] = rows;
  if (!holder) return 'another session';
  return `'${holder.application_name || 'unnamed'}' (backend pid ${holder.pid}, connected ${holder.backend_start.toISOString()})`;
}

function urlOf({ options }: DataSource): string {
  if (options.type !== 'postgres' || !options.url) throw new Error('the migration lock needs a PostgreSQL DataSource given by its url');
  return options.url;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
