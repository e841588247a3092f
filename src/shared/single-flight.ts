/**
 * One run of `work` at a time, shared by every caller that asks while it runs; the next call after
 * it settled (resolved or rejected) starts a new run. For reads whose cost must not grow with the
 * number of callers: the gauges of one scrape that each report a part of one measurement, and the
 * health checks and scrapes that anyone may request as often as they like.
 */
export class SingleFlight<T> {
  private pending?: Promise<T>;

  constructor(private readonly work: () => Promise<T>) {}

  run(): Promise<T> {
    this.pending ??= this.work().finally(() => (this.pending = undefined));
    return this.pending;
  }
}
