/**
 * When to shed commands at the door (load shedding), decided from how far the readers of the
 * event store lag behind the writes. Pure: the figures come in, a decision goes out.
 */

/** How far one reader of the store is behind, as one sample saw it. */
export interface ReaderLag {
  reader: string;
  /** Committed events it has yet to take. */
  lagEvents: number;
  /** Age of the oldest of them, in ms (0 when caught up). */
  lagMs: number;
  /** Events per second its checkpoint moved over the last second or two; undefined when not known yet. */
  drainPerSecond?: number;
}

/** The bounds, each 0 when not used. */
export interface AdmissionBounds {
  maxLagMs: number;
  maxLagEvents: number;
}

export type AdmissionDecision =
  | { shedding: false }
  | {
      shedding: true;
      /** Retry-After, whole seconds (RFC 9110 §10.2.3). */
      retryAfterSeconds: number;
      /** The reader that lags most, for the problem's detail and the log. */
      worst: ReaderLag;
    };

/**
 * Hysteresis: shedding starts when a reader is past a bound, and stops only once every reader is
 * back under half of it. Without the gap every sample near the bound would flip the decision.
 */
export const RESUME_FRACTION = 0.5;

/** Retry-After never says more than this: the estimate is rough and clients should look again. */
export const MAX_RETRY_AFTER_SECONDS = 60;

export const ADMITTING: AdmissionDecision = { shedding: false };

export class AdmissionPolicy {
  private shedding = false;

  constructor(private readonly bounds: AdmissionBounds) {}

  /** Whether any bound is set at all; with none, nothing is ever shed. */
  get enabled(): boolean {
    return this.bounds.maxLagMs > 0 || this.bounds.maxLagEvents > 0;
  }

  /** Decides on a new sample; the decision holds until the next one. */
  decide(readers: readonly ReaderLag[]): AdmissionDecision {
    const fraction = this.shedding ? RESUME_FRACTION : 1;
    const lagging = readers.filter((reader) => this.exceeds(reader, fraction));
    this.shedding = lagging.length > 0;
    if (!this.shedding) return ADMITTING;
    const worst = lagging.reduce((a, b) => (b.lagMs > a.lagMs || (b.lagMs === a.lagMs && b.lagEvents > a.lagEvents) ? b : a));
    return { shedding: true, retryAfterSeconds: retryAfterSeconds(lagging, this.bounds), worst };
  }

  /** Forgets a shedding state (a sample could not be taken: the door stays open meanwhile). */
  reset(): void {
    this.shedding = false;
  }

  private exceeds(reader: ReaderLag, fraction: number): boolean {
    const { maxLagMs, maxLagEvents } = this.bounds;
    return (maxLagMs > 0 && reader.lagMs > maxLagMs * fraction) || (maxLagEvents > 0 && reader.lagEvents > maxLagEvents * fraction);
  }
}

/**
 * When a retry has a chance: the time the slowest of the lagging readers needs to take its
 * backlog at the rate it was seen taking events. While writes are shed the backlog only shrinks,
 * so that is when shedding stops (the age of the oldest event is no guide: it keeps growing
 * while a reader slower than the writes were works through their events). A reader whose rate is
 * not known yet, or that is not moving, gets the age bound itself (or 1 s with an events bound
 * only). At least 1 s, at most MAX_RETRY_AFTER_SECONDS.
 */
export function retryAfterSeconds(lagging: readonly ReaderLag[], bounds: AdmissionBounds): number {
  const fallback = Math.max(1, Math.ceil(bounds.maxLagMs / 1000));
  const seconds = lagging.map(({ lagEvents, drainPerSecond }) =>
    drainPerSecond !== undefined && drainPerSecond > 0 ? Math.ceil(lagEvents / drainPerSecond) : fallback,
  );
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, ...seconds));
}
