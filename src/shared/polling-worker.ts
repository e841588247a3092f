/** How a PollingWorker paces itself. */
export interface PollingWorkerOptions {
  /** The pause (ms) after a step that succeeded and asked for no pause of its own. */
  intervalMs: number;
  /** The pause (ms) after the `failures`-th failed step in a row (1, 2, …); default `intervalMs`. */
  backoff?(failures: number): number;
  /**
   * Told of each failed step, with how many failed in a row and the pause before the next try
   * (for its log line). Not told of a step that fails while the worker stops. Answering
   * `'at-once'` says it dealt with the failure itself: the next step runs without a pause, and
   * this failure does not count as one in a row.
   */
  onFailure(error: unknown, failures: number, delayMs: number): FailureHandling | Promise<FailureHandling>;
}

/** What onFailure answers: nothing (back off), or 'at-once'. */
export type FailureHandling = void | 'at-once';

/** `baseMs · 2^failures`, at most `maxMs`: 200, 400, 800 … for a base of 100. */
export function doublingBackoff(baseMs: number, maxMs: number): (failures: number) => number {
  return (failures) => Math.min(maxMs, baseMs * 2 ** failures);
}

/**
 * Runs `step` over and over, one at a time, pausing between steps: after a success as long as
 * the step returned (ms; nothing: `intervalMs`; 0: none), after a failure as the back-off says. `wake()`
 * cuts the current pause short, or, while a step runs, the pause after it (so a request made
 * during a step is never lost; a step followed by no pause leaves it for the next pause). `stop()` runs no further step, cuts any pause short, and resolves
 * once the step in progress ended. A step may sleep inside itself with `pause`, which `wake` and
 * `stop` cut short alike.
 */
export class PollingWorker {
  private running?: Promise<void>;
  private stopping = false;
  private wakeRequested = false;
  private endPause?: () => void;
  /** The first delay of a start() that came while a stop() waited for the loop to end. */
  private restartDelayMs?: number;

  constructor(
    private readonly step: () => Promise<number | void>,
    private readonly options: PollingWorkerOptions,
  ) {}

  /** True from `stop()` on, until the next `start()`. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Starts the loop (no-op when it runs): the first step after `firstDelayMs` (or a `wake`).
   * While a `stop()` still waits for the step in progress, it starts again once that one ended.
   */
  start(firstDelayMs = 0): void {
    if (!this.running) this.launch(firstDelayMs);
    else if (this.stopping) this.restartDelayMs = firstDelayMs;
  }

  /** Ends the current pause now; while a step runs, skips the pause after it. */
  wake(): void {
    this.wakeRequested = true;
    this.endPause?.();
  }

  /** Starts no further step and resolves once the one in progress (if any) ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.restartDelayMs = undefined;
    this.endPause?.();
    await this.running;
  }

  /** Sleeps `ms`, or less when woken or stopped (at once when a wake-up is pending or it stops). */
  async pause(ms: number): Promise<void> {
    if (!this.stopping && !this.wakeRequested) {
      await new Promise<void>((resolve) => {
        const end = () => {
          clearTimeout(timer);
          if (this.endPause === end) this.endPause = undefined;
          resolve();
        };
        const timer = setTimeout(end, ms);
        this.endPause = end;
      });
    }
    this.wakeRequested = false;
  }

  private launch(firstDelayMs: number): void {
    this.stopping = false;
    this.running = this.loop(firstDelayMs).finally(() => {
      this.running = undefined;
      const restartDelayMs = this.restartDelayMs;
      this.restartDelayMs = undefined;
      if (restartDelayMs !== undefined) this.launch(restartDelayMs);
    });
  }

  private async loop(firstDelayMs: number): Promise<void> {
    let failures = 0;
    if (firstDelayMs > 0) await this.pause(firstDelayMs);
    while (!this.stopping) {
      let delayMs: number;
      try {
        delayMs = (await this.step()) ?? this.options.intervalMs;
        failures = 0;
      } catch (error) {
        if (this.stopping) break;
        failures += 1;
        delayMs = this.options.backoff?.(failures) ?? this.options.intervalMs;
        // Reporting must not end the loop: a report that fails is left at that.
        const handling = await Promise.resolve()
          .then(() => this.options.onFailure(error, failures, delayMs))
          .catch(() => undefined);
        if (handling === 'at-once') {
          failures -= 1;
          delayMs = 0;
        }
      }
      if (delayMs > 0) await this.pause(delayMs);
    }
  }
}
