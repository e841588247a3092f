import type { ClientBase } from 'pg';
import { wrapQuery } from './wrap-query';

/**
 * Distinct statements one connection prepares at most. PostgreSQL keeps a prepared statement for
 * the whole session, so a bound keeps a backend's memory bounded should some code build its SQL
 * text per call (an `IN` list of varying length); past it, new texts run unprepared.
 */
export const MAX_PREPARED_STATEMENTS_PER_CONNECTION = 500;

/**
 * Makes `client` run every statement that has parameters as a named prepared statement: the
 * first call of a text on this connection parses and plans it (one Parse message more), every
 * later one only binds and executes. TypeORM sends its statements unnamed, so PostgreSQL parses,
 * analyses and plans each one again; for the short statements of this service that is a large
 * part of the server's CPU per statement (PostgreSQL's docs, "PREPARE": "the statement is
 * planned once… performance advantage when a single session is being used to execute a large
 * number of similar statements"). Statements without parameters (`BEGIN`, `COMMIT`) stay on the
 * simple protocol.
 *
 * Names are per connection (`s0`, `s1`, …), given in the order texts first appear. Behind a
 * transaction-mode pooler (PgBouncer before 1.21) a statement prepared on one server connection
 * is missing on the next: turn it off there (DATABASE_PREPARED_STATEMENTS=false).
 */
export function prepareParameterizedStatements(client: ClientBase): void {
  const names = new Map<string, string>();
  wrapQuery(client, (query) => (config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof config !== 'string' || !Array.isArray(values) || values.length === 0) return query(config, values, callback);
    let name = names.get(config);
    if (name === undefined && names.size < MAX_PREPARED_STATEMENTS_PER_CONNECTION) {
      name = `s${names.size}`;
      names.set(config, name);
    }
    return name === undefined ? query(config, values, callback) : query({ name, text: config, values }, callback);
  });
}
