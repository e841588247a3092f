import type { DataSource, EntityManager } from 'typeorm';
import { quoteIdentifier } from '../../database/sql-identifier';

/** An empty copy of `live` (columns, defaults, constraints, indexes) named `rebuild`; a leftover one is dropped first. */
export async function createRebuildTable(db: DataSource | EntityManager, live: string, rebuild: string): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ${rebuild}`);
  await db.query(`CREATE TABLE ${rebuild} (LIKE ${live} INCLUDING ALL)`);
}

/**
 * Drops `live` and renames `rebuilt` to its name. Run inside the caller's transaction, so a
 * query sees the old table or the new one, never neither. The rebuilt table's indexes (and so its
 * primary-key constraint) take the old indexes' names: the schema stays as the migrations describe
 * it, and the next rebuild's copy gets the same names again.
 */
export async function swapInRebuiltTable(db: EntityManager, live: string, rebuilt: string): Promise<void> {
  const liveIndexes = await indexesOf(db, live);
  const rebuiltIndexes = await indexesOf(db, rebuilt);
  await db.query(`DROP TABLE ${live}`);
  await db.query(`ALTER TABLE ${rebuilt} RENAME TO ${live}`);
  for (const index of liveIndexes) {
    const twin = rebuiltIndexes.findIndex((candidate) => candidate.shape === index.shape);
    if (twin < 0) continue;
    const [copy] = rebuiltIndexes.splice(twin, 1);
    if (copy.name !== index.name) await db.query(`ALTER INDEX ${quoteIdentifier(copy.name)} RENAME TO ${quoteIdentifier(index.name)}`);
  }
}

interface IndexShape {
  name: string;
  /** The definition without index and table names: `UNIQUE USING btree (id)`. */
  shape: string;
}

function indexesOf(db: EntityManager, table: string): Promise<IndexShape[]> {
  return db.query(
    `SELECT c.relname AS name,
            CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END
              || regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON (ONLY )?\\S+ ', '') AS shape
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = $1::regclass
     ORDER BY c.relname`,
    [table],
  );
}
