// Imported first by each main.ts. Until a process listens for SIGTERM/SIGINT, the signal kills
// it (status 143/130), and loading Nest and the app takes about a second of synchronous work.
// Listening from the first line catches the signal; Node dispatches it once the event loop
// turns, which is after GracefulShutdown.listen() took over (so it stops like any other start).

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Only runs if the loop turns before GracefulShutdown listens; nothing is in flight then. */
function exitWhileLoading(signal: NodeJS.Signals): void {
  process.stdout.write(`${signal} received while loading: exiting\n`);
  process.exit(0);
}

for (const signal of STOP_SIGNALS) process.on(signal, exitWhileLoading);

/** Removes the loading-time handlers once GracefulShutdown listens. */
export function releaseEarlyStopSignals(): void {
  for (const signal of STOP_SIGNALS) process.off(signal, exitWhileLoading);
}
