import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The deliveries being handled right now, so that stopping can wait for them to settle, and the
 * signal that tells a delivery held through an outage to give up because the consumer stops.
 */
export class InFlightDeliveries {
  private readonly pending = new Set<Promise<void>>();
  private readonly stopper = new AbortController();
  private lastSettled = Number.NEGATIVE_INFINITY;

  /** Aborted once the consumer stops: a delivery held through an outage is handed back rather than tried again. */
  get stopping(): AbortSignal {
    return this.stopper.signal;
  }

  get size(): number {
    return this.pending.size;
  }

  /** When (performance.now()) a delivery last finished being handled; -Infinity if none has. */
  get lastSettledAt(): number {
    return this.lastSettled;
  }

  track(work: Promise<void>): Promise<void> {
    this.pending.add(work);
    const forget = () => {
      this.pending.delete(work);
      this.lastSettled = performance.now();
    };
    work.then(forget, forget);
    return work;
  }

  /**
   * Resolves true once no delivery is in flight (including those that started meanwhile), false
   * when `timeoutMs` passed first.
   */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const timer = new AbortController();
      await Promise.race([Promise.allSettled([...this.pending]), sleep(left, undefined, { signal: timer.signal }).catch(() => undefined)]);
      timer.abort();
    }
    return true;
  }

  stop(): void {
    this.stopper.abort();
  }
}
