import { assertPlainIdentifier } from '../database/sql-identifier';

/**
 * An aggregate's table, as the writer needs it: its name, its key column and the columns written
 * once, by the INSERT (what never changes after creation). An UPDATE sets every other column of
 * the row. The table has a `version` integer column: the stream version its row is at.
 */
export interface AggregateTable {
  readonly name: string;
  readonly key: string;
  readonly insertOnly: readonly string[];
}

/**
 * An aggregate's row, column name → value, each value as node-postgres sends it (a jsonb column's
 * value JSON text). The repository maps the aggregate's snapshot to it once; its key order is the
 * statement's column order, so keep it fixed: the statement's text, and so its prepared
 * statement, is one per (table, columns).
 */
export type AggregateRow = Readonly<Record<string, unknown>>;

/** A statement changing the row, and its parameters `$1..$n`. */
export interface RowChange {
  sql: string;
  params: unknown[];
}

/**
 * The row's change: an `INSERT … RETURNING 1` for a new aggregate (`expectedVersion` 0), else an
 * `UPDATE … WHERE <key> = $1 AND version = $n RETURNING 1` of the row at `expectedVersion`, which
 * changes no row when another write got there first. `sql` depends only on the table and the row's
 * columns.
 */
export function rowChangeOf(table: AggregateTable, row: AggregateRow, expectedVersion: number): RowChange {
  const kind = expectedVersion === 0 ? 'insert' : 'update';
  const { sql, columns } = statementOf(table, kind, Object.keys(row));
  const params = columns.map((column) => row[column]);
  return { sql, params: kind === 'insert' ? params : [...params, expectedVersion] };
}

interface RowStatement {
  sql: string;
  /** The row's columns whose values are the parameters, in placeholder order. */
  columns: string[];
}

/** Built once per (table, kind, columns): a save only looks its statement up. */
const statements = new Map<string, RowStatement>();

function statementOf(table: AggregateTable, kind: 'insert' | 'update', columns: string[]): RowStatement {
  const cacheKey = `${table.name} ${kind} ${columns.join(',')}`;
  let statement = statements.get(cacheKey);
  if (statement === undefined) {
    [table.name, ...columns].forEach(assertPlainIdentifier);
    if (!columns.includes(table.key)) throw new Error(`a ${table.name} row needs its key column ${table.key}`);
    statement = kind === 'insert' ? insertStatement(table, columns) : updateStatement(table, columns);
    statements.set(cacheKey, statement);
  }
  return statement;
}

function insertStatement(table: AggregateTable, columns: string[]): RowStatement {
  const placeholders = columns.map((_, index) => `$${index + 1}`);
  return { sql: `INSERT INTO ${table.name} (${columns.join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING 1`, columns };
}

/** `UPDATE … SET <changed> = $2… WHERE <key> = $1 AND version = $n`: the key first, the expected version last. */
function updateStatement(table: AggregateTable, columns: string[]): RowStatement {
  const changed = columns.filter((column) => column !== table.key && !table.insertOnly.includes(column));
  const assignments = changed.map((column, index) => `${column} = $${index + 2}`);
  return {
    sql: `UPDATE ${table.name} SET ${assignments.join(', ')} WHERE ${table.key} = $1 AND version = $${changed.length + 2} RETURNING 1`,
    columns: [table.key, ...changed],
  };
}
