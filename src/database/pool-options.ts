import type { ClientBase } from 'pg';
import { prepareParameterizedStatements } from './prepared-statements';

/**
 * Options of the pg pool behind TypeORM (its `extra`), for both apps. `max`: connections in the pool.
 *
 * pg-pool listens for a client's 'error' only while the client is idle in the pool. A client
 * checked out between two statements (inside a transaction, or handed to a query runner) that
 * PostgreSQL terminates (pg_terminate_backend, a restart, a failover, an idle-in-transaction
 * timeout) emits 'error' with nobody listening, an uncaught exception that ends the process.
 * With a listener the client is merely broken: its next statement fails ("not queryable"), the
 * caller handles that like any lost connection, and the pool discards it on release.
 *
 * `preparedStatements`: statements with parameters run as named prepared statements, parsed and
 * planned once per connection (see prepareParameterizedStatements).
 */
export function pgPoolOptions(max: number, { preparedStatements = true } = {}): { max: number; onConnect(client: ClientBase): void } {
  return {
    max,
    onConnect(client) {
      client.on('error', () => undefined);
      if (preparedStatements) prepareParameterizedStatements(client);
    },
  };
}
