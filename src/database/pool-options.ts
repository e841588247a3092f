import type { ClientBase } from 'pg';
import { isPostgresError } from './postgres-errors';
import { prepareParameterizedStatements } from './prepared-statements';
import { serializeQueries } from './serialized-queries';
import { SERVER_KEEPALIVE_SETTINGS, setSessionSettingsSql } from './server-session-settings';
import { boundStatementReplies } from './statement-reply-timeout';
import { wrapQuery } from './wrap-query';

/**
 * How often the server checks, while it runs one of our statements, that this process is still
 * connected (`client_connection_check_interval`, PostgreSQL 14+): a process killed mid-statement
 * (a migration's backfill, a rebuild's batch) has its statement cancelled within this instead of
 * running on to its end, holding its locks, and only then finding nobody to answer.
 */
export const CLIENT_CONNECTION_CHECK_INTERVAL_MS = 2000;

/**
 * TCP keepalive of pool connections: an idle connection (in the pool, or waiting for the answer
 * to a statement the server had received) whose server's host vanished (no FIN, no RST) is found
 * dead after this plus 10 probes 1 s apart (Node sets those on Linux), about 20 s, instead of never
 * (idle) or when the kernel gives up; pg-pool then drops it. A statement whose bytes the server's
 * host never acknowledged is under the kernel's retransmission timer instead (up to ~15 min), which
 * keepalive does not shorten: that is what the statement reply timeout is for.
 */
export const POOL_KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** SQLSTATE 22023: what the server answers to a nonzero check interval where its kernel cannot poll for a closed peer. */
const INVALID_PARAMETER_VALUE = '22023';

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
 * A statement answered with a FATAL error (57P01 after pg_terminate_backend, a shutdown) was the
 * session's last: the client is ended at once (endAfterFatal). TypeORM releases its client
 * without the error, and before the socket's close reached the client pg-pool took it back as
 * idle, so the next caller got a dead connection ("Connection terminated unexpectedly"): a request
 * failed after the one that met the termination.
 *
 * Queries on one connection never overlap (serializeQueries): a transaction's keepalive
 * (transaction-keepalive.ts) waits for the statement running.
 *
 * `preparedStatements`: statements with parameters run as named prepared statements, parsed and
 * planned once per connection (see prepareParameterizedStatements).
 *
 * `idleInTransactionTimeoutMs` (DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS): sent at connect as
 * `idle_in_transaction_session_timeout`; 0 or undefined sends nothing (the server's setting holds).
 *
 * `applicationName`: the connections' `application_name` in pg_stat_activity (the apps add
 * processLabel(), so that an operator can tell whose connection is whose).
 *
 * `statementReplyTimeoutMs` (DATABASE_STATEMENT_REPLY_TIMEOUT_MS): how long a statement waits for
 * PostgreSQL's answer before its connection is ended and it fails (boundStatementReplies: a
 * server that vanished would otherwise hold the caller, and the connection, for minutes); 0 or
 * undefined: no bound, as the CLIs have it, but for the one a stop of the apps sets (a silent
 * PostgreSQL is given up on: stop-database-wait.ts). Migrations and projection rebuilds run without it
 * (withoutStatementReplyTimeout). Connections use TCP keepalive (POOL_KEEPALIVE_INITIAL_DELAY_MS).
 *
 * Each new connection also sets, in one round trip, CLIENT_CONNECTION_CHECK_INTERVAL_MS and the
 * server's TCP keepalive (SERVER_KEEPALIVE), which frees the server's side of a client whose host
 * vanished. No idle_session_timeout, unlike the lease and LISTEN sessions (which a proxy on the way,
 * answering keepalive for a vanished client, makes necessary there): a pool connection may rightly
 * sit idle for long outside a transaction (a projection rebuild's lock is held on one for the whole
 * rebuild). A server whose platform lacks the kernel support for the connection check refuses
 * it, and then that check is simply off.
 */
export function pgPoolOptions(
  max: number,
  {
    preparedStatements = true,
    idleInTransactionTimeoutMs,
    applicationName,
    statementReplyTimeoutMs = 0,
  }: { preparedStatements?: boolean; idleInTransactionTimeoutMs?: number; applicationName?: string; statementReplyTimeoutMs?: number } = {},
): {
  max: number;
  keepAlive: true;
  keepAliveInitialDelayMillis: number;
  application_name?: string;
  idle_in_transaction_session_timeout?: number;
  onConnect(client: ClientBase): Promise<void>;
} {
  return {
    max,
    keepAlive: true,
    keepAliveInitialDelayMillis: POOL_KEEPALIVE_INITIAL_DELAY_MS,
    ...(applicationName ? { application_name: applicationName.slice(0, 63) } : {}),
    ...(idleInTransactionTimeoutMs ? { idle_in_transaction_session_timeout: idleInTransactionTimeoutMs } : {}),
    onConnect(client) {
      client.on('error', () => undefined);
      // Innermost: it times the statement itself, not its wait behind the previous one.
      boundStatementReplies(client, statementReplyTimeoutMs);
      serializeQueries(client);
      if (preparedStatements) prepareParameterizedStatements(client);
      endAfterFatal(client);
      return setServerSide(client);
    },
  };
}

/**
 * Sets the connection's server-side bounds in one statement: the server's TCP keepalive, and
 * `client_connection_check_interval` unless the server's platform cannot check (then the
 * keepalive alone, a second round trip on such a server only).
 */
async function setServerSide(client: ClientBase): Promise<void> {
  try {
    await client.query(setSessionSettingsSql({ ...SERVER_KEEPALIVE_SETTINGS, client_connection_check_interval: CLIENT_CONNECTION_CHECK_INTERVAL_MS }));
  } catch (error) {
    if (!(isPostgresError(error) && error.code === INVALID_PARAMETER_VALUE)) throw error;
    await client.query(setSessionSettingsSql(SERVER_KEEPALIVE_SETTINGS));
  }
}

/** Ends `client` as soon as one of its statements fails with severity FATAL, so that pg-pool discards it on release. */
export function endAfterFatal(client: ClientBase): void {
  wrapQuery(client, (query) => (...args: unknown[]) => {
    const result = query(...args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if ((error as { severity?: unknown } | undefined)?.severity === 'FATAL') void (client as ClientBase & { end(): Promise<void> }).end().catch(() => undefined);
      });
    }
    return result;
  });
}
