import { hostname } from 'node:os';
import { Client } from 'pg';
import { sendKeepaliveQueries } from './keepalive-queries';
import { serializeQueries } from './serialized-queries';

/**
 * `host=<host> pid=<pid>`: what this process's sessions add to their `application_name`, so that
 * an operator can tell in pg_stat_activity which process holds what.
 */
export function processLabel(): string {
  return `host=${hostname()} pid=${process.pid}`;
}

/**
 * TCP keepalive of a lease session. The server's side (tcp_keepalives_*) gives a vanished client up after
 * about 10 + 5 * 3 = 25 s; on the client's side Node sets only the idle time, and its own probes (10, 1 s
 * apart) give a vanished server up after about 20 s.
 */
export const LEASE_KEEPALIVE = { idleSeconds: 10, intervalSeconds: 5, count: 3 };

/** A lease session sends its heartbeat this many times per session timeout, so that one or two late ones cost nothing. */
const HEARTBEATS_PER_TIMEOUT = 3;

/**
 * A connection of its own for session advisory locks (leases: the relay's leadership, the
 * segments of the subscriptions). A lock lives as long as its session, and the server ends a
 * session whose peer vanished (no FIN, no RST: a machine gone, a cut network) only when TCP
 * keepalive gives up: with PostgreSQL's defaults (0: the OS's, 7200 s idle, 9 probes 75 s apart)
 * 2 h 11 min, for which the lease stays taken and its work undone. Create it with this, attach
 * the owner's 'error'/'end' listeners, then call `connectLeaseSession`.
 */
export function leaseSessionClient(connectionString: string, applicationName: string): Client {
  const client = new Client({
    connectionString,
    application_name: applicationName.slice(0, 63),
    keepAlive: true,
    keepAliveInitialDelayMillis: LEASE_KEEPALIVE.idleSeconds * 1000,
  });
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
    await client.connect();
    await client.query(
      `SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $2, false), set_config('tcp_keepalives_count', $3, false)`,
      [String(LEASE_KEEPALIVE.idleSeconds), String(LEASE_KEEPALIVE.intervalSeconds), String(LEASE_KEEPALIVE.count)],
    );
    if (sessionTimeoutMs) {
      await client.query(`SELECT set_config('idle_session_timeout', $1, false)`, [String(sessionTimeoutMs)]);
      sendHeartbeats(client, sessionTimeoutMs / HEARTBEATS_PER_TIMEOUT);
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/** Heartbeats on the lease session until the client ends (see sendKeepaliveQueries). */
function sendHeartbeats(client: Client, intervalMs: number): void {
  const stop = sendKeepaliveQueries((sql) => client.query(sql), intervalMs);
  client.once('end', stop);
  client.once('error', stop);
}
