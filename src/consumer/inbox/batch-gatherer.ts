/** How a BatchGatherer batches: `gatherMs` ≥ 0 milliseconds, `maxItems` ≥ 1. */
export interface BatchGathering {
  gatherMs: number;
  maxItems: number;
}

/**
 * Gathers items and hands them to `apply` in batches, one batch at a time: a batch goes once it
 * holds `maxItems`, or `gatherMs` after its oldest item came, whichever is first, but never while
 * the previous batch is being applied; what comes meanwhile waits for the next. `apply` must
 * settle every item itself and never reject (a rejection is swallowed).
 */
export class BatchGatherer<T> {
  private waiting: T[] = [];
  private oldestSince = 0;
  private timer?: NodeJS.Timeout;
  private applying = false;

  constructor(
    private readonly gathering: BatchGathering,
    private readonly apply: (batch: T[]) => Promise<void>,
  ) {}

  add(item: T): void {
    if (this.waiting.length === 0) this.oldestSince = performance.now();
    this.waiting.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.applying || this.waiting.length === 0) return;
    const due = this.oldestSince + this.gathering.gatherMs - performance.now();
    if (this.waiting.length >= this.gathering.maxItems || due <= 0) {
      void this.applyNext();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.schedule();
    }, due);
  }

  private async applyNext(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // What stays waiting has waited since oldestSince at least, so it goes as soon as this batch is done.
    const batch = this.waiting.splice(0, this.gathering.maxItems);
    this.applying = true;
    try {
      await this.apply(batch);
    } catch {
      // apply settles its items itself
    } finally {
      this.applying = false;
      this.schedule();
    }
  }
}
