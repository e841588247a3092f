import { collectDefaultMetrics, Registry } from 'prom-client';
import { SingleFlight } from '../shared/single-flight';

/**
 * How long a gauge measured at scrape time may wait for PostgreSQL: past it the gauge is left out
 * of the scrape, so that a server that hangs (accepts, never answers) cannot hang /metrics, and
 * with it the process and pool figures that would show the hang.
 */
export const SCRAPE_QUERY_TIMEOUT_MS = 2000;

let processMetrics: Registry | undefined;

/**
 * The process's default metrics (`process_*`, `nodejs_*`: CPU, memory, event-loop lag, GC,
 * handles), collected once per process: they describe the process, not an app, and prom-client
 * starts an event-loop monitor and a GC observer per collection that nothing stops, so several
 * apps in one process (the e2e tests start many) share these.
 */
function processMetricsRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/**
 * The metrics of one app instance, in a registry of its own (never prom-client's global
 * `register`), so several apps in one process keep apart. Features create their counters and
 * gauges with `registers: [registry]`; `GET /metrics` serves `scrape()`.
 */
export class MetricsRegistry extends Registry {
  /** Prometheus text exposition format 0.0.4. */
  static readonly CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

  /** One scrape at a time: requests that arrive while it runs get its text, and cost no query of their own. */
  private readonly scrapes: SingleFlight<string> = new SingleFlight((): Promise<string> => Registry.merge([processMetricsRegistry(), this]).metrics());

  constructor() {
    super();
    // From the app's start: the event-loop monitor has figures by the first scrape.
    processMetricsRegistry();
  }

  /**
   * This app's metrics and the process's default ones, in the text format. Gauges measured at
   * scrape time (lag, pool, queue depth) run their `collect` now, concurrently; concurrent
   * scrapes share one collection (GET /metrics is open to anyone who can reach it).
   */
  scrape(): Promise<string> {
    return this.scrapes.run();
  }
}
