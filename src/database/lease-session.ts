import { Client } from 'pg';

/** TCP keepalive of a lease session, both ends: a vanished peer is given up after about 10 + 5 * 3 = 25 s. */
export const LEASE_KEEPALIVE = { idleSeconds: 10, intervalSeconds: 5, count: 3 };

/**
 * A connection of its own for session advisory locks (leases: the relay's leadership, the
 * segments of the subscriptions). A lock lives as long as its session, and the server ends a
 * session whose peer vanished (no FIN, no RST: a machine gone, a cut network) only when TCP
 * keepalive gives up: with PostgreSQL's defaults (0: the OS's, 7200 s idle, 9 probes 75 s apart)
 * 2 h 11 min, for which the lease stays taken and its work undone. Create it with this, attach
 * the owner's 'error'/'end' listeners, then call `connectLeaseSession`.
 */
export function leaseSessionClient(connectionString: string, applicationName: string): Client {
  return new Client({
    connectionString,
    application_name: applicationName.slice(0, 63),
    keepAlive: true,
    keepAliveInitialDelayMillis: LEASE_KEEPALIVE.idleSeconds * 1000,
  });
}

/**
 * Connects, then sets the server's side of the keepalive (ignored on a Unix socket, where a peer
 * cannot vanish). Ends the client and rejects when either fails.
 */
export async function connectLeaseSession(client: Client): Promise<void> {
  try {
    await client.connect();
    await client.query(
      `SELECT set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $2, false), set_config('tcp_keepalives_count', $3, false)`,
      [String(LEASE_KEEPALIVE.idleSeconds), String(LEASE_KEEPALIVE.intervalSeconds), String(LEASE_KEEPALIVE.count)],
    );
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}
