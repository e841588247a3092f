import type { DataSource } from 'typeorm';
import { quoteIdentifier } from '../sql-identifier';

/** A table whose rows expire by the age of one timestamp column, which an index orders. */
export interface ExpiringRows {
  table: string;
  timestampColumn: string;
}

export interface DeletedRows {
  deleted: number;
  /** DELETE statements run (the last one deletes fewer than a batch, or the run was stopped). */
  statements: number;
}

/**
 * Deletes the rows of `rows.table` whose timestamp is more than `retentionSeconds` older than the
 * database's `now()`, at most `batchSize` per statement, each statement a transaction of its own,
 * until one deletes less than a batch or `shouldStop()` turns true between two statements. A
 * backlog of millions therefore never holds locks or a transaction for long, and a stop waits for
 * one batch at most.
 *
 * Each statement takes the oldest expired rows through the timestamp's index and deletes them by
 * `ctid` (`DELETE … WHERE ctid = ANY(ARRAY(SELECT ctid … LIMIT n FOR UPDATE SKIP LOCKED))`):
 * PostgreSQL's DELETE has no LIMIT. SKIP LOCKED lets several processes prune the same table at
 * once on disjoint rows without waiting for one another. The database's clock decides the age,
 * as it wrote the timestamps. A run that finds nothing takes no transaction id.
 */
export async function deleteOlderThan(
  dataSource: DataSource,
  rows: ExpiringRows,
  { retentionSeconds, batchSize, shouldStop = () => false }: { retentionSeconds: number; batchSize: number; shouldStop?: () => boolean },
): Promise<DeletedRows> {
  const table = quoteIdentifier(rows.table);
  const column = quoteIdentifier(rows.timestampColumn);
  const statement = `WITH deleted AS (
       DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM ${table} WHERE ${column} < now() - $1 * interval '1 second'
         ORDER BY ${column} LIMIT $2 FOR UPDATE SKIP LOCKED))
       RETURNING 1)
     SELECT count(*)::int AS n FROM deleted`;
  let deleted = 0;
  let statements = 0;
  for (;;) {
    const [{ n }] = await dataSource.query<Array<{ n: number }>>(statement, [retentionSeconds, batchSize]);
    deleted += n;
    statements += 1;
    if (n < batchSize || shouldStop()) return { deleted, statements };
  }
}
