// Imported first by each main.ts. Until a process listens for SIGTERM/SIGINT, the signal kills
// it (status 143/130), and loading Nest and the app takes about a second of synchronous work.
// Listening from the first line catches the signal; Node dispatches it once the event loop
// turns, which is after GracefulShutdown.listen() took over (so it stops like any other start).

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Only runs if the loop turns before GracefulShutdown listens; nothing is in flight then. The
 * logger is not loaded yet: the line is written by hand, shaped like the logger's (JSON unless
 * LOG_FORMAT=pretty, see src/logging/process-logger.ts).
 */
function exitWhileLoading(signal: NodeJS.Signals): void {
  const msg = `${signal} received while loading: exiting`;
  const line = process.env.LOG_FORMAT === 'pretty' ? msg : JSON.stringify({ level: 'info', time: new Date().toISOString(), pid: process.pid, msg });
  process.stdout.write(`${line}\n`);
  process.exit(0);
}

for (const signal of STOP_SIGNALS) process.on(signal, exitWhileLoading);

/** Removes the loading-time handlers once GracefulShutdown listens. */
export function releaseEarlyStopSignals(): void {
  for (const signal of STOP_SIGNALS) process.off(signal, exitWhileLoading);
}
