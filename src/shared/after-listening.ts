import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';

type Start = () => void | Promise<void>;

/**
 * Work that may begin only once the HTTP server accepts connections: the readers of the event
 * store (projections, reactions, the relay), the deadline watcher and the retention jobs (in the
 * consumer app: its inbox retention). Nest's
 * `onApplicationBootstrap` runs before `listen()`; a process that then fails to bind its port (or
 * is still starting while an orchestrator holds its traffic back) would already have published
 * messages and run side effects. Parts register here; `main.ts` calls `start()` after
 * `app.listen()`, the e2e tests after their app is ready. An application context that never
 * listens (a CLI) starts none of it.
 */
@Injectable()
export class AfterListening implements BeforeApplicationShutdown {
  private readonly logger = new Logger(AfterListening.name);
  private readonly parts: Array<{ name: string; start: Start }> = [];
  private started = false;
  private shuttingDown = false;

  /** `start` runs when the app listens (at once, if it already does). */
  register(name: string, start: Start): void {
    this.parts.push({ name, start });
    if (this.started && !this.shuttingDown) void Promise.resolve(start()).catch((error: unknown) => this.logger.error(`${name} failed to start: ${String(error)}`));
  }

  beforeApplicationShutdown(): void {
    this.shuttingDown = true;
  }

  get hasStarted(): boolean {
    return this.started;
  }

  /** Starts every registered part, in registration order; rejects if one fails to start. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const { name, start } of this.parts) {
      // A stop signal during start-up: what has not started yet stays so.
      if (this.shuttingDown) {
        this.logger.warn(`shutting down: ${name} and the parts after it were not started`);
        return;
      }
      await start();
    }
    this.logger.log(`started after listening: ${this.parts.map(({ name }) => name).join(', ') || 'nothing'}`);
  }
}
