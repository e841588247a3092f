import type { Client } from 'pg';

/** How long ending a connection of its own waits for PostgreSQL to close its side before the socket is destroyed. */
export const END_CONNECTION_WAIT_MS = 2000;

/**
 * Ends `client`, a connection of its own (a lease session, the LISTEN connection), within
 * `waitMs`. pg's `end()` sends Terminate and resolves when the server closes its side; a server
 * that vanished without closing the connection (its machine gone, the network cut) never does,
 * and `end()` waited for ever (in the real world until the kernel stopped retransmitting our FIN,
 * ~15 min), holding up a shutdown or a resignation. Past `waitMs` the socket is destroyed: the
 * server, if it ever hears of it, ends the session (and frees its locks) as for a lost client.
 */
export async function endConnection(client: Client, waitMs = END_CONNECTION_WAIT_MS): Promise<void> {
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
