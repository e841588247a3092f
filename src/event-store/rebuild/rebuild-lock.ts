import type { DataSource, QueryRunner } from 'typeorm';
import { sessionAdvisoryLockCondition } from '../../database/session-advisory-lock';

export class RebuildAlreadyRunningError extends Error {
  constructor(readonly projection: string) {
    super(`a rebuild of ${projection} is already running`);
  }
}

/** The advisory lock key of a projection's rebuilds. */
function rebuildLockKey(projection: string): string {
  return `projection-rebuild:${projection}`;
}

/**
 * The SQL condition on a `pg_locks` row aliased `l` that makes it the rebuild lock of the
 * projection whose name is the SQL text expression `projectionSql`: how another session sees
 * whether a rebuild runs, and in which backend (`l.pid`).
 */
export function rebuildLockCondition(projectionSql: string): string {
  return sessionAdvisoryLockCondition(`'projection-rebuild:' || ${projectionSql}`);
}

/** A projection's rebuild lock, held on a connection of its own until released. */
export interface RebuildLock {
  readonly projection: string;
  /** The PostgreSQL backend that holds it (`pg_backend_pid()`), as pg_locks shows it. */
  readonly backendPid: number;
  release(): Promise<void>;
}

/**
 * Takes the rebuild lock of `projection`: a session advisory lock on a connection of the pool,
 * so that two rebuilds (from the CLI, the admin API, any process) never share one `_rebuild`
 * table. It goes with its session if the process dies. Rejects with RebuildAlreadyRunningError
 * when another session holds it.
 */
export async function acquireRebuildLock(dataSource: DataSource, projection: string): Promise<RebuildLock> {
  const key = rebuildLockKey(projection);
  const connection: QueryRunner = dataSource.createQueryRunner();
  await connection.connect();
  try {
    const [{ locked, pid }] = await connection.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked, pg_backend_pid() AS pid`, [key]);
    if (!locked) throw new RebuildAlreadyRunningError(projection);
    let released = false;
    return {
      projection,
      backendPid: pid,
      async release() {
        if (released) return;
        released = true;
        try {
          await connection.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]);
        } finally {
          await connection.release();
        }
      },
    };
  } catch (error) {
    await connection.release();
    throw error;
  }
}

/** Runs `work` while holding the rebuild lock of `projection` (see acquireRebuildLock). */
export async function withRebuildLock<T>(dataSource: DataSource, projection: string, work: (lock: RebuildLock) => Promise<T>): Promise<T> {
  const lock = await acquireRebuildLock(dataSource, projection);
  try {
    return await work(lock);
  } finally {
    await lock.release();
  }
}
