import type { ChildProcess } from 'node:child_process';

/** How a child process ended: its exit status, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function exitOf(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** A child process that ends or will: ApiProcess, ConsumerProcess, StartScript. */
export interface Exiting {
  readonly exited: Promise<ExitStatus>;
  /** Sends `signal` unless the process ended already. */
  signal(signal: NodeJS.Signals): void;
}

/**
 * Waits for a process meant to end by itself (a start that must fail) to exit; its status. Still
 * running after `timeoutMs` (milliseconds, default 30 000), it is sent `signal` (default SIGKILL):
 * a hang then ends with a status the test's assertion refuses instead of outliving the test.
 */
export async function exitOnItsOwn(child: Exiting, { timeoutMs = 30_000, signal = 'SIGKILL' }: { timeoutMs?: number; signal?: NodeJS.Signals } = {}): Promise<ExitStatus> {
  const hung = setTimeout(() => child.signal(signal), timeoutMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(hung);
  }
}
