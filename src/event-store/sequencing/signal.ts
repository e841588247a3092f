/** Wakes whoever waits on it right now; a raise with nobody waiting is not remembered. */
export class Signal {
  private waiters = new Set<() => void>();
  private readonly listeners = new Set<() => void>();

  raise(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
    for (const listener of this.listeners) listener();
  }

  /** Calls `listener` on every raise until the returned function is called. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves on the next `raise()` (true) or after `timeoutMs` (false), whichever comes first. */
  wait(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (raised: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(onRaise);
        resolve(raised);
      };
      const onRaise = () => wake(true);
      const timer = setTimeout(() => wake(false), timeoutMs);
      this.waiters.add(onRaise);
    });
  }
}

/** Remembers that something happened until the one consumer takes it: no wake-up is lost. */
export class Latch {
  private set = false;
  private readonly signal = new Signal();

  raise(): void {
    this.set = true;
    this.signal.raise();
  }

  /** True when raised since the last take (at once, or within `timeoutMs`); clears it. */
  async take(timeoutMs: number): Promise<boolean> {
    if (!this.set) await this.signal.wait(timeoutMs);
    const wasSet = this.set;
    this.set = false;
    return wasSet;
  }
}
