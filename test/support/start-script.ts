import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from './consumer-process';
import { exitOf, type ExitStatus } from './exit-status';
import { deleteAtFileEnd, TEST_RABBITMQ_URL } from './test-broker';

const ROOT = path.resolve(__dirname, '../..');

/** `npm start` as a process: scripts/start.mjs running both built apps, each on a free port of its own. */
export class StartScript {
  /** stdout and stderr as they came: the script's `[start] …` lines and the apps', prefixed `[api] ` and `[consumer] `. */
  output = '';
  /** Resolves when the script ended, however. */
  readonly exited: Promise<ExitStatus>;

  private constructor(
    private readonly child: ChildProcess,
    /** The API's HTTP port (PORT). */
    readonly port: number,
    /** The consumer's HTTP port (CONSUMER_PORT). */
    readonly consumerPort: number,
  ) {
    child.stdout?.on('data', (chunk) => (this.output += chunk));
    child.stderr?.on('data', (chunk) => (this.output += chunk));
    this.exited = exitOf(child);
  }

  /**
   * Starts scripts/start.mjs with `env` over PORT and CONSUMER_PORT (two free ports) and
   * RABBITMQ_URL; undefined unsets a variable. It sets no authentication: unless `env` configures
   * some, the script runs both apps in development mode. Resolves within 30 s, once
   * - `until: 'started'` (default): the API answers HTTP, the consumer's /health answers 200, and
   *   the API logged `API on http://…`, which comes after its readers started (LOG_LEVEL log or finer);
   * - `until: 'healthy'`: both /health answer 200, at any LOG_LEVEL.
   * Otherwise stops the script (SIGTERM: it stops both apps) and rejects with its output.
   */
  static async start(env: Record<string, string | undefined>, { until = 'started' }: { until?: 'started' | 'healthy' } = {}): Promise<StartScript> {
    // The apps' topology outlives them, as a built process's does (deleteAtFileEnd).
    if (env.BROKER_PREFIX) deleteAtFileEnd(env.BROKER_PREFIX);
    const port = await freePort();
    let consumerPort = await freePort();
    while (consumerPort === port) consumerPort = await freePort();
    const child = spawn(process.execPath, ['scripts/start.mjs'], {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '', PORT: String(port), CONSUMER_PORT: String(consumerPort), RABBITMQ_URL: TEST_RABBITMQ_URL, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const script = new StartScript(child, port, consumerPort);
    const deadline = Date.now() + 30_000;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      if (await script.isUp(until)) return script;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    script.signal('SIGTERM');
    await script.exited;
    throw new Error(`npm start did not come up (${until}):\n${script.output}`);
  }

  /** The pid of `name` as the script logged it when it started that app. */
  pidOf(name: 'api' | 'consumer'): number {
    const match = new RegExp(`\\[start\\] ${name} started \\(pid (\\d+)\\)`).exec(this.output);
    if (!match) throw new Error(`no pid for ${name} in:\n${this.output}`);
    return Number(match[1]);
  }

  /** Sends `signal` to the script alone, without waiting (nothing if it ended already). */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  private async isUp(until: 'started' | 'healthy'): Promise<boolean> {
    const status = async (port: number) => {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health`);
        await response.arrayBuffer();
        return response.status;
      } catch {
        return 0; // not listening yet
      }
    };
    const [api, consumer] = await Promise.all([status(this.port), status(this.consumerPort)]);
    if (consumer !== 200) return false;
    return until === 'healthy' ? api === 200 : api !== 0 && /API on http:\/\/[^:]+:\d+/.test(this.output);
  }
}
