import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { dropDatabase } from '../../src/database/ensure-database';
import { createTestDatabase } from './test-database';
import { exitOf, type ExitStatus } from './exit-status';
import { TEST_AUTH_ENV, testAuthorization } from './test-auth';
import { deleteAtFileEnd, TEST_RABBITMQ_URL } from './test-broker';

const ROOT = path.resolve(__dirname, '../..');

/**
 * How long a built process (API or consumer) may take to answer after it was spawned. Not a
 * measure of anything: on two cores shared with another test file, a start took over 20 s.
 */
export const PROCESS_START_TIMEOUT_MS = 60_000;

/** The consumer app as a real child process (from the build), on its own database and port. */
export class ConsumerProcess {
  /**
   * Another process consuming from the same queue, on the same database (a second instance), with
   * `env` over the first one's variables.
   */
  static async startAnother(first: ConsumerProcess, env: Record<string, string | undefined> = {}): Promise<ConsumerProcess> {
    const another = new ConsumerProcess(first.databaseUrl, await freePort(), { ...first.env, ...env }, first.databaseAddress);
    await another.startProcess(first.brokerPrefix);
    return another;
  }

  /** Like `startAnother`, but returns as soon as the process runs: to watch it while it starts. */
  static async spawnAnother(first: ConsumerProcess): Promise<ConsumerProcess> {
    const another = new ConsumerProcess(first.databaseUrl, await freePort(), first.env, first.databaseAddress);
    another.launch(first.brokerPrefix);
    return another;
  }

  private child?: ChildProcess;

  /** The running process's pid: its database sessions carry `pid=<it>` in their application_name. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** stdout and stderr as they came. */
  output = '';
  /** stdout alone: the log lines. */
  stdout = '';
  /** Resolves when the current process ended, however. */
  exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });

  private constructor(
    readonly databaseUrl: string,
    readonly port: number,
    private readonly env: Record<string, string | undefined>,
    /** The URL the process is given for `databaseUrl`: itself, or a TCP proxy's in front of it. */
    private readonly databaseAddress: (databaseUrl: string) => string = (databaseUrl) => databaseUrl,
  ) {}

  /**
   * Starts dist/src/consumer/main.js with `env` over the test defaults (TEST_AUTH); undefined unsets a variable.
   * Resolves once /health answers 200, or with `until: 'listening'` once its HTTP side answers at all.
   * `port`: its HTTP port (e.g. one the API was told as CONSUMER_URL); a free one when unset.
   * `databaseAddress`: what the process is given as CONSUMER_DATABASE_URL for its own database
   * (`databaseUrl`, which `stop` drops), e.g. a TCP proxy's rewrite of it; unset, the URL itself.
   * `databaseUrl`: that database, the caller's (made, migrated or left missing on purpose); unset, a fresh test database.
   */
  static async start(
    brokerPrefix: string,
    env: Record<string, string | undefined> = {},
    {
      until = 'healthy',
      port,
      databaseAddress,
      databaseUrl,
    }: { until?: 'healthy' | 'listening'; port?: number; databaseAddress?: (databaseUrl: string) => string; databaseUrl?: string } = {},
  ): Promise<ConsumerProcess> {
    const consumer = new ConsumerProcess(databaseUrl ?? (await createTestDatabase()), port ?? (await freePort()), env, databaseAddress);
    await consumer.startProcess(brokerPrefix, until);
    return consumer;
  }

  /** Like `start`, but resolves as soon as the process runs: to watch a start fail (`exited`, `output`). */
  static async spawn(brokerPrefix: string, env: Record<string, string | undefined> = {}, { databaseUrl }: { databaseUrl?: string } = {}): Promise<ConsumerProcess> {
    const consumer = new ConsumerProcess(databaseUrl ?? (await createTestDatabase()), await freePort(), env);
    consumer.launch(brokerPrefix);
    return consumer;
  }

  get url(): string {
    return `http://${this.env.CONSUMER_HOST ?? '127.0.0.1'}:${this.port}`;
  }

  private brokerPrefix = '';

  private launch(brokerPrefix: string): ChildProcess {
    this.brokerPrefix = brokerPrefix;
    // Its topology (retry queues of its own delays included) outlives it, for a restart or another consumer.
    deleteAtFileEnd(brokerPrefix);
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/consumer/main.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        CONSUMER_DATABASE_URL: this.databaseAddress(this.databaseUrl),
        CONSUMER_PORT: String(this.port),
        RABBITMQ_URL: TEST_RABBITMQ_URL,
        BROKER_PREFIX: brokerPrefix,
        LOG_LEVEL: 'warn',
        ...TEST_AUTH_ENV,
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk) => {
      this.output += chunk;
      this.stdout += chunk;
    });
    child.stderr?.on('data', (chunk) => (this.output += chunk));
    this.child = child;
    this.exited = exitOf(child);
    return child;
  }

  private async startProcess(brokerPrefix: string, until: 'healthy' | 'listening' = 'healthy'): Promise<void> {
    const child = this.launch(brokerPrefix);
    const deadline = Date.now() + PROCESS_START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`consumer exited at start:\n${this.output}`);
      try {
        const response = await fetch(`${this.url}/health`);
        if (response.ok || until === 'listening') return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Not left running: its pipes would keep the test run from ending.
    child.kill('SIGKILL');
    throw new Error(`consumer did not become ${until === 'healthy' ? 'healthy' : 'reachable'}:\n${this.output}`);
  }

  /** Sends `signal` and waits until the process exited. */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitStatus> {
    this.signal(signal);
    return this.exited;
  }

  /** Sends `signal` without waiting (nothing if the process ended already). */
  signal(signal: NodeJS.Signals): void {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.startProcess(this.brokerPrefix);
  }

  async stop(): Promise<void> {
    await this.kill();
    await dropDatabase(this.databaseUrl);
  }

  /** GETs `pathAndQuery` with a token of every scope (TEST_AUTH). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test assertions read arbitrary JSON
  async get(pathAndQuery: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.url}${pathAndQuery}`, { headers: await testAuthorization() });
    return { status: response.status, body: await response.json() };
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}
