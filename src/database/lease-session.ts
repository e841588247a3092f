import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import { Client } from 'pg';
import { endConnection } from './end-connection';
import { sendKeepaliveQueries } from './keepalive-queries';
import { serializeQueries } from './serialized-queries';
import { connectWatched } from './stop-database-wait';
import { SERVER_KEEPALIVE, SERVER_KEEPALIVE_SETTINGS, setSessionSettingsSql } from './server-session-settings';
import { boundStatementReplies } from './statement-reply-timeout';

/**
 * `host=<host> pid=<pid>`: what this process's sessions add to their `application_name`, so that
 * an operator can tell in pg_stat_activity which process holds what.
 */
export function processLabel(): string {
  return `host=${hostname()} pid=${process.pid}`;
}

/**
 * TCP keepalive of a lease session. The server's side is SERVER_KEEPALIVE (a vanished client given
 * up after about 25 s); on the client's side Node sets only the idle time, and its own probes (10,
 * 1 s apart) give a vanished server up after about 20 s.
 */
const LEASE_KEEPALIVE_IDLE_MS = SERVER_KEEPALIVE.idleSeconds * 1000;

/** A lease session sends its heartbeat this many times per session timeout, so that one or two late ones cost nothing. */
const HEARTBEATS_PER_TIMEOUT = 3;

/**
 * How long, as a share of the session timeout, a lease statement (a heartbeat, a lock taken or
 * given back, a look at pg_locks) waits for its answer before the session is ended here. The
 * server ends a session it heard nothing from for the timeout, and frees its locks for another
 * process; one whose server vanished (no FIN, no RST: a machine gone, a network cut) hears nothing
 * of that, and its TCP keepalive cannot tell while a statement's bytes are unacknowledged (the
 * kernel retransmits for up to ~15 min). So a statement sent at most a third of the timeout after
 * the last answer (the heartbeat's pace) and unanswered for half of it ends the session (the
 * owner's 'end': its leases are lost) a sixth of the timeout before the server can have freed them.
 */
const LEASE_REPLY_SHARE_OF_TIMEOUT = 1 / 2;

const leaseStatement = new AsyncLocalStorage<true>();

/**
 * Runs `work`, whose statements on a lease session are bounded (LEASE_REPLY_SHARE_OF_TIMEOUT of
 * its session timeout), unlike other statements sent on it: for the lease's own statements.
 */
export function boundedLeaseStatements<T>(work: () => Promise<T>): Promise<T> {
  return leaseStatement.run(true, work);
}

/**
 * A connection of its own for session advisory locks (leases: the relay's leadership, the
 * segments of the subscriptions). A lock lives as long as its session, and the server ends a
 * session whose peer vanished (no FIN, no RST: a machine gone, a cut network) only when TCP
 * keepalive gives up: with PostgreSQL's defaults (0: the OS's, 7200 s idle, 9 probes 75 s apart)
 * 2 h 11 min, for which the lease stays taken and its work undone. Create it with this, attach
 * the owner's 'error'/'end' listeners, then call `connectLeaseSession`.
 */
export function leaseSessionClient(
  connectionString: string,
  applicationName: string,
  { sessionTimeoutMs, replyTimeoutMs }: { sessionTimeoutMs?: number; replyTimeoutMs?: number } = {},
): Client {
  // `replyTimeoutMs` (a session without a session timeout: the migration lock's) or half of the
  // session timeout bounds the connect and the lease's own statements; 0 or neither: no bound.
  const replyBoundMs = replyTimeoutMs || (sessionTimeoutMs ? Math.round(sessionTimeoutMs * LEASE_REPLY_SHARE_OF_TIMEOUT) : 0);
  const client = new Client({
    connectionString,
    application_name: applicationName.slice(0, 63),
    keepAlive: true,
    keepAliveInitialDelayMillis: LEASE_KEEPALIVE_IDLE_MS,
    // A server that accepts and never answers (or is gone) fails the connect, not hangs it.
    ...(sessionTimeoutMs || replyTimeoutMs ? { connectionTimeoutMillis: sessionTimeoutMs || replyTimeoutMs } : {}),
  });
  // Innermost, so that a statement is timed from when it is sent, not while it waits behind another.
  if (replyBoundMs > 0) {
    boundStatementReplies(client, replyBoundMs, {
      applies: () => leaseStatement.getStore() === true,
      bound: replyTimeoutMs ? 'DATABASE_STATEMENT_REPLY_TIMEOUT_MS, on a lock session' : 'half of LEASE_SESSION_TIMEOUT_MS, on a lease session',
    });
  }
  // The heartbeat shares the session with the owner's statements: never beside one.
  serializeQueries(client);
  return client;
}

/**
 * Connects, then sets the server's side of the keepalive (ignored on a Unix socket, where a peer
 * cannot vanish). Ends the client and rejects when either fails.
 *
 * `sessionTimeoutMs` (leases held while the process works, not the migration lock): the server
 * ends the session, and so frees its locks, once it has heard nothing from this process for that
 * long (`idle_session_timeout`, PostgreSQL 14+), and the client sends `SELECT 1` every third of
 * it. TCP keepalive is answered by the kernel, so it cannot tell a process that stopped working
 * from one that works: one stopped by SIGSTOP or a debugger, a paused VM or container, an event
 * loop blocked by a runaway computation or swapping. Such a process sends no heartbeat and loses
 * its leases within the timeout, as a dead one does; once it runs again its client reads the
 * server's FATAL and 'error' fires. What it did meanwhile with a lease it no longer held is what
 * every lease holder must already survive (receipts, checkpoints moved by compare-and-set).
 */
export async function connectLeaseSession(client: Client, { sessionTimeoutMs }: { sessionTimeoutMs?: number } = {}): Promise<void> {
  try {
    await connectWatched(client);
    await boundedLeaseStatements(() => client.query(setSessionSettingsSql(SERVER_KEEPALIVE_SETTINGS)));
    if (sessionTimeoutMs) {
      await boundedLeaseStatements(() => client.query(`SELECT set_config('idle_session_timeout', $1, false)`, [String(sessionTimeoutMs)]));
      sendHeartbeats(client, sessionTimeoutMs / HEARTBEATS_PER_TIMEOUT);
    }
  } catch (error) {
    await endConnection(client);
    throw error;
  }
}

/** Heartbeats on the lease session until the client ends (see sendKeepaliveQueries). */
function sendHeartbeats(client: Client, intervalMs: number): void {
  const stop = sendKeepaliveQueries((sql) => boundedLeaseStatements(() => client.query(sql)), intervalMs);
  client.once('end', stop);
  client.once('error', stop);
}
