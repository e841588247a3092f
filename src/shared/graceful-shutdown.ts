import type { Server, ServerResponse } from 'node:http';
import { Logger, type INestApplication } from '@nestjs/common';
import { beginProcessStop } from './process-stop';

/** Something the shutdown must have closed, checked after `app.close()` and at the deadline. */
export interface ShutdownResource {
  /** What the log lines call it, e.g. "database pool". */
  name: string;
  isOpen(): boolean;
}

export interface GracefulShutdownOptions {
  /** Hard deadline from the first signal, in ms: past it, the process logs what is left and exits 1. */
  timeoutMs: number;
  /** Names what `app.close()` stops in this process, for its log line (e.g. "relay, reactions, broker client"). */
  applicationParts: string;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Stops the process on SIGTERM or SIGINT, in order, with one log line per stage, and exits 0:
 * 1. intake: the HTTP server takes no new connection, and every response still to be written
 *    closes its connection (keep-alive clients reconnect elsewhere); `processStopping` is
 *    aborted, so that work waiting on a silent PostgreSQL gives up within the stop's wait for it
 *    (src/database/stop-database-wait.ts) instead of holding the stop to its deadline;
 * 2. the requests in flight finish (the HTTP server closes once the last connection ended);
 * 3. `app.close()`: Nest's shutdown hooks stop the rest (relay after its batch, consumer after
 *    its deliveries, broker and database connections);
 * 4. the `resources` given to `attach` are checked: any still open is named, and the exit status is 1.
 * Past `timeoutMs`, or on a second signal, it names the stage it was in and exits 1 at once. A
 * signal within REPEATED_SIGNAL_MS of the first is the same stop request delivered twice, not a
 * second one: under `npm run`, a terminal's Ctrl-C reaches the whole process group and npm
 * forwards it to its child once more.
 *
 * Call it before the app exists: a signal during start exits at once (nothing is in flight yet);
 * `attach` the app once it listens.
 */
const REPEATED_SIGNAL_MS = 1000;

export class GracefulShutdown {
  private readonly logger = new Logger('Shutdown');
  private app?: INestApplication;
  private resources: ShutdownResource[] = [];
  private stage?: string;
  private readonly inFlight = new Set<ServerResponse>();
  private closing = false;
  private firstSignalAt?: number;

  private constructor(private readonly options: GracefulShutdownOptions) {}

  static listen(options: GracefulShutdownOptions): GracefulShutdown {
    const shutdown = new GracefulShutdown(options);
    for (const signal of SIGNALS) process.on(signal, () => shutdown.onSignal(signal));
    return shutdown;
  }

  /**
   * From here on, a signal runs the graceful sequence on `app` (which must listen already);
   * `resources` must all be closed once `app.close()` resolved.
   */
  attach(app: INestApplication, resources: ShutdownResource[] = []): void {
    this.app = app;
    this.resources = resources;
    const server = app.getHttpServer() as Server;
    server.on('request', (_request, response: ServerResponse) => {
      if (this.closing) closeAfterResponse(response);
      this.inFlight.add(response);
      response.once('close', () => this.inFlight.delete(response));
    });
  }

  /**
   * Runs the rest of the start after `attach` (start-up lines, the readers). A stop signal may
   * come meanwhile: the stop closes the database pool and the broker connection under the step
   * that runs, which then fails. That failure is the stop's doing, not a failed start: it is
   * logged as a warning and the stop decides the exit status. A failure before any signal rejects.
   * Resolves true when the start completed with no stop under way.
   */
  async finishStart(steps: () => Promise<void>): Promise<boolean> {
    try {
      await steps();
    } catch (error) {
      if (this.stage === undefined) throw error;
      this.logger.warn(`start cut short by the stop (${this.stage}): ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    return this.stage === undefined;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.firstSignalAt !== undefined && performance.now() - this.firstSignalAt < REPEATED_SIGNAL_MS) return;
    this.firstSignalAt ??= performance.now();
    if (this.stage !== undefined) {
      this.logger.error(`second ${signal} while ${this.stage}: exiting now`);
      process.exit(1);
    }
    if (!this.app) {
      this.stage = 'starting';
      this.logger.log(`${signal} received while starting: exiting`);
      process.exit(0);
    }
    const startedAt = performance.now();
    beginProcessStop();
    // Not unref'd: a hook awaiting a promise nothing else keeps alive must still end in exit 1.
    setTimeout(() => this.onDeadline(), this.options.timeoutMs);
    void this.stop(this.app, signal).then(
      (allClosed) => {
        this.logger.log(`stopped in ${Math.round(performance.now() - startedAt)} ms`);
        process.exit(allClosed ? 0 : 1);
      },
      (error: unknown) => {
        this.logger.error(`shutdown failed while ${this.stage}: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  }

  private async stop(app: INestApplication, signal: NodeJS.Signals): Promise<boolean> {
    const requests = this.inFlight.size;
    this.stage = `finishing ${requests} HTTP request(s) in flight`;
    // The listener is closed (synchronously, inside closeHttpServer) before the line is written:
    // whoever reads "stopping intake" finds the port refusing connections already.
    const httpServerClosed = this.closeHttpServer(app.getHttpServer() as Server);
    this.logger.log(`${signal} received: stopping intake (deadline ${this.options.timeoutMs} ms)`);
    await httpServerClosed;
    this.logger.log(`HTTP server closed; ${requests} request(s) in flight finished`);

    this.stage = `stopping the ${this.options.applicationParts}`;
    await app.close();
    this.logger.log(`stopped the ${this.options.applicationParts}`);

    let allClosed = true;
    for (const resource of this.resources) {
      if (resource.isOpen()) {
        allClosed = false;
        this.logger.error(`${resource.name} still open after close`);
      } else {
        this.logger.log(`${resource.name} closed`);
      }
    }
    return allClosed;
  }

  /** Resolves once the last connection ended; Nest's own close of the server later is a no-op. */
  private closeHttpServer(server: Server): Promise<void> {
    this.closing = true;
    for (const response of this.inFlight) closeAfterResponse(response);
    return new Promise((resolve) => {
      if (!server.listening) return resolve();
      // Closes the idle keep-alive connections at once; busy ones end after their response.
      server.close(() => resolve());
    });
  }

  private onDeadline(): void {
    const open = this.resources.filter((resource) => resource.isOpen()).map((resource) => resource.name);
    this.logger.error(
      `did not stop within ${this.options.timeoutMs} ms: still ${this.stage}` +
        (this.inFlight.size > 0 ? `; ${this.inFlight.size} HTTP request(s) unfinished` : '') +
        (open.length > 0 ? `; still open: ${open.join(', ')}` : ''),
    );
    process.exit(1);
  }
}

function closeAfterResponse(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader('connection', 'close');
}
