import type { DataSource } from 'typeorm';

export class RebuildAlreadyRunningError extends Error {
  constructor(readonly projection: string) {
    super(`a rebuild of ${projection} is already running`);
  }
}

/**
 * Runs `work` while holding a session advisory lock for `projection`, so two rebuilds never
 * share one `_rebuild` table. The lock lives on its own connection and goes with it if the
 * process dies.
 */
export async function withRebuildLock<T>(dataSource: DataSource, projection: string, work: () => Promise<T>): Promise<T> {
  const key = `projection-rebuild:${projection}`;
  const connection = dataSource.createQueryRunner();
  await connection.connect();
  try {
    const [{ locked }] = await connection.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS locked`, [key]);
    if (!locked) throw new RebuildAlreadyRunningError(projection);
    try {
      return await work();
    } finally {
      await connection.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]);
    }
  } finally {
    await connection.release();
  }
}
