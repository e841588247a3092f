import type { EntityManager } from 'typeorm';
import { quoteIdentifier } from '../../database/sql-identifier';

export interface ReadModelDifferences {
  /** Rows of the live table that the rebuilt one does not hold exactly so. */
  onlyInLive: number;
  /** Rows of the rebuilt table that the live one does not hold exactly so. */
  onlyInRebuilt: number;
  /** Primary keys of a few differing rows, for a person to look at. */
  sampleKeys: string[];
}

export function isIdentical(differences: ReadModelDifferences): boolean {
  return differences.onlyInLive === 0 && differences.onlyInRebuilt === 0;
}

const SAMPLE_SIZE = 5;

/**
 * Compares two tables of the same shape row by row, all columns, in both directions. A row that
 * differs in one column counts on both sides. Both tables must be plain identifiers.
 */
export async function compareReadModels(db: EntityManager, live: string, rebuilt: string): Promise<ReadModelDifferences> {
  const key = await primaryKeyExpression(db, live);
  const [row] = await db.query(
    `WITH only_in_live AS (SELECT * FROM ${live} EXCEPT SELECT * FROM ${rebuilt}),
          only_in_rebuilt AS (SELECT * FROM ${rebuilt} EXCEPT SELECT * FROM ${live})
     SELECT (SELECT count(*) FROM only_in_live)::int AS "onlyInLive",
            (SELECT count(*) FROM only_in_rebuilt)::int AS "onlyInRebuilt",
            ARRAY(
              SELECT key FROM (
                SELECT ${key} AS key FROM only_in_live AS r UNION SELECT ${key} FROM only_in_rebuilt AS r
              ) AS keys ORDER BY key LIMIT ${SAMPLE_SIZE}
            ) AS "sampleKeys"`,
  );
  return row;
}

/** The row `r`'s primary key as text (columns joined by commas), or the whole row without one. */
async function primaryKeyExpression(db: EntityManager, table: string): Promise<string> {
  const columns: Array<{ name: string }> = await db.query(
    `SELECT a.attname AS name
     FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = $1::regclass AND i.indisprimary
     ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [table],
  );
  if (columns.length === 0) return 'r::text';
  return `concat_ws(',', ${columns.map(({ name }) => `r.${quoteIdentifier(name)}::text`).join(', ')})`;
}
