import type { Client } from 'pg';
import { databaseSilenceAtStop } from './stop-database-wait';

/** How long ending a connection of its own waits for PostgreSQL to close its side before the socket is destroyed. */
export const END_CONNECTION_WAIT_MS = 2000;

/**
 * Ends `client`, a connection of its own (a lease session, the LISTEN connection), within
 * `waitMs`. pg's `end()` sends Terminate and resolves when the server closes its side; a server
 * that vanished without closing the connection (its machine gone, the network cut) never does,
 * and `end()` waited for ever (in the real world until the kernel stopped retransmitting our FIN,
 * ~15 min), holding up a shutdown or a resignation. Past `waitMs` the socket is destroyed: the
 * server, if it ever hears of it, ends the session (and frees its locks) as for a lost client.
 * A stop that found PostgreSQL silent (stop-database-wait.ts) destroys the socket at once.
 */
export async function endConnection(client: Client, waitMs = END_CONNECTION_WAIT_MS, silence: { isSilent: boolean } = databaseSilenceAtStop): Promise<void> {
  if (silence.isSilent) waitMs = 0;
  const ended = client.end().then(
    () => true,
    () => true,
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)));
  const inTime = await Promise.race([ended, late]);
  clearTimeout(timer);
  if (inTime) return;
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  await ended;
}

/** What boundPoolEnd needs of a pg Pool: its end() and, inside, the clients it still has. */
interface EndablePool {
  end(callback?: (error?: Error) => void): Promise<void> | void;
}

/**
 * Makes `pool.end()` (which TypeORM's DataSource.destroy() awaits at a stop) settle within
 * `waitMs`. pg-pool ends its idle clients without waiting for them, and TypeORM hands back the
 * clients it lent before it ends the pool; but pg-pool waits for every client it is still
 * connecting (the handshake, then the pool's onConnect statements). Against a server that vanished
 * (no FIN, no RST) that lasted until the connect timeout or the statement bound (10 or 30 s): a
 * stop during the outage, while a reader or the consumer was trying again, outlived
 * SHUTDOWN_TIMEOUT_MS and exited 1, "database pool still open". Past `waitMs` the sockets of the
 * clients left are destroyed, which fails their connect or statement at once; at once when the stop
 * found PostgreSQL silent already (stop-database-wait.ts).
 */
export function boundPoolEnd(pool: EndablePool, waitMs = END_CONNECTION_WAIT_MS, silence: { isSilent: boolean } = databaseSilenceAtStop): void {
  const end = pool.end.bind(pool) as () => Promise<void>;
  pool.end = (callback?: (error?: Error) => void) => {
    const timer = setTimeout(() => {
      for (const client of (pool as unknown as { _clients?: Client[] })._clients ?? []) {
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      }
    }, silence.isSilent ? 0 : waitMs);
    const ended = end().finally(() => clearTimeout(timer));
    if (!callback) return ended;
    ended.then(() => callback(), (error: Error) => callback(error));
  };
}
