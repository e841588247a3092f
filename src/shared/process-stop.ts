import { setMaxListeners } from 'node:events';

const stop = new AbortController();
// One listener per database statement waiting for its answer: many at once is the normal case.
setMaxListeners(0, stop.signal);

/**
 * Aborted when this process begins its graceful stop (GracefulShutdown, at the first stop signal
 * once the app listens). What may wait on a silent peer during the stop bounds that wait from then
 * on: the database's statements and connects (src/database/stop-database-wait.ts). A CLI, or an
 * app built by a test in its own process, never stops this way: its waits keep their usual bounds.
 */
export const processStopping: AbortSignal = stop.signal;

/** Tells `processStopping`'s listeners that the stop began. Once; later calls do nothing. */
export function beginProcessStop(): void {
  stop.abort();
}
