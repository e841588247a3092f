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

/**
 * Why this session may not rebuild `live`, or undefined when it may (or `live` does not exist:
 * the rebuild says so itself). A rebuild creates its copy in the live table's schema and drops the
 * live table: that needs CREATE on the schema and ownership of the table (membership of its
 * owner's role), which an app run under a role without DDL rights (DATABASE_MIGRATIONS=check)
 * lacks. Asked before a rebuild starts, so that it is refused at once rather than failing after.
 */
export async function rebuildPermissionProblem(db: DataSource | EntityManager, live: string): Promise<string | undefined> {
  const [row]: Array<{ role: string; schema: string; owner: string; mayCreate: boolean; owns: boolean }> = await db.query(
    `SELECT current_user AS role, n.nspname AS schema, pg_get_userbyid(c.relowner) AS owner,
            has_schema_privilege(c.relnamespace, 'CREATE') AS "mayCreate", pg_has_role(c.relowner, 'USAGE') AS owns
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = to_regclass($1)`,
    [live],
  );
  if (!row) return undefined;
  const missing = [...(row.mayCreate ? [] : [`CREATE on schema ${row.schema}`]), ...(row.owns ? [] : [`ownership of ${live} (owned by ${row.owner})`])];
  return missing.length > 0 ? `the database role ${row.role} lacks ${missing.join(' and ')}` : undefined;
}
