/**
 * A measurement taken once per scrape and shared by the gauges that each report a part of it
 * (lag in events and in seconds from one query): prom-client collects every metric of a scrape
 * concurrently, so the first gauge's `collect` starts `measure` and the others join it. Nothing
 * is measured between scrapes.
 */
export class ScrapeSnapshot<T> {
  private pending?: Promise<T>;

  constructor(private readonly measure: () => Promise<T>) {}

  take(): Promise<T> {
    this.pending ??= this.measure().finally(() => (this.pending = undefined));
    return this.pending;
  }
}
