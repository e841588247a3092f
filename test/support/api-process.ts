import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort, PROCESS_START_TIMEOUT_MS } from './consumer-process';
import { exitOf, type ExitStatus } from './exit-status';
import { TEST_AUTH_ENV, testAuthorization } from './test-auth';
import { deleteAtFileEnd } from './test-broker';

const ROOT = path.resolve(__dirname, '../..');

/** The API as a real child process (from the build), so a test can SIGKILL it. */
export class ApiProcess {
  /** stdout and stderr as they came. */
  output = '';
  /** stdout alone: the log lines. */
  stdout = '';
  /** Resolves when the process ended, however. */
  readonly exited: Promise<ExitStatus>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    this.exited = exitOf(child);
    child.stdout?.on('data', (chunk) => {
      this.output += chunk;
      this.stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => (this.output += chunk));
  }

  /** Starts dist/src/main.js with `env` over the test defaults (TEST_AUTH); undefined unsets a variable. Resolves once it answers HTTP. */
  static async start(env: Record<string, string | undefined>): Promise<ApiProcess> {
    const api = await ApiProcess.spawn(env);
    const child = api.child;
    const deadline = Date.now() + PROCESS_START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`API exited at start:\n${api.output}`);
      try {
        // Any answer means it listens; /health may be 503 on purpose (no broker).
        await fetch(`${api.url}/health`);
        return api;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`API did not start:\n${api.output}`);
  }

  /** Like `start`, but resolves as soon as the process runs, to act on it while it starts. */
  static async spawn(env: Record<string, string | undefined>): Promise<ApiProcess> {
    // Its topology outlives it, for another process on the same prefix.
    if (env.BROKER_PREFIX) deleteAtFileEnd(env.BROKER_PREFIX);
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', PORT: String(port), LOG_LEVEL: 'warn', ...TEST_AUTH_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ApiProcess(child, port);
  }

  /** The process id, e.g. to read its resident memory. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** POSTs `body` with a token of every scope (TEST_AUTH). */
  /** `timeoutMs`: rejects (TimeoutError) when no answer came within it; a frozen process never answers. */
  async post(pathname: string, body: object, { timeoutMs }: { timeoutMs?: number } = {}): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const response = await fetch(`${this.url}${pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await testAuthorization()) },
      body: JSON.stringify(body),
      ...(timeoutMs !== undefined && { signal: AbortSignal.timeout(timeoutMs) }),
    });
    return { status: response.status, body: await response.json() };
  }

  /** Sends `signal` and waits until the process exited. */
  async kill(signal: NodeJS.Signals): Promise<ExitStatus> {
    this.signal(signal);
    return this.exited;
  }

  /** Sends `signal` without waiting (nothing if the process ended already). */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
