import { Injectable } from '@nestjs/common';

/**
 * Wakes this process's subscriptions the moment a write commits, so they need not wait for
 * their next poll. Other processes still find the events by polling.
 */
@Injectable()
export class EventAppendedSignal {
  private waiters = new Set<() => void>();

  raise(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Resolves on the next `raise()` or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }
}
