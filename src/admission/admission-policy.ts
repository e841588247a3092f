/**
 * What the door does with commands (delay them, shed them, or neither), decided from how far the
 * readers of the event store lag behind the writes. Pure: the figures come in, a decision goes out.
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
  /**
   * From this age of lag on (ms), commands wait at the door before they run, the longer the closer
   * the lag is to `maxLagMs` (MAX_ADMISSION_DELAY_MS there). 0, or not below `maxLagMs`: no waits.
   */
  delayFromLagMs: number;
}

export type AdmissionDecision =
  | { action: 'admit' }
  | {
      action: 'delay';
      /** How long each command waits before it runs, in ms (1 to MAX_ADMISSION_DELAY_MS). */
      delayMs: number;
      /** The reader that lags most, for the log. */
      worst: ReaderLag;
    }
  | {
      action: 'shed';
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

/**
 * The wait at the door when a reader's lag reaches ADMISSION_MAX_LAG_MS, in ms; below it the wait
 * shrinks in a straight line to nothing at ADMISSION_DELAY_FROM_LAG_MS. Why wait rather than only
 * refuse: Retry-After is whole seconds, at least 1, so every refusal takes a client away for a
 * second or more. Under a closed loop of clients (32 connections in the bench, each sending about
 * a dozen commands a second) the first refusals emptied the door within a second, the readers ran
 * out of work, and the clients came back together: an all-or-nothing door swung between a full
 * backlog and none, and a share refused early did worse still. A wait of tens of ms slows each
 * such client by just that much (2026-12-02, saga on, orders/s sustained: 320-322 with the wait,
 * 194-331 all or nothing, 128-166 with a share refused; README "Backpressure before refusals"),
 * so the accepted rate settles where the readers keep up, with the lag near
 * ADMISSION_DELAY_FROM_LAG_MS instead of near the bound. Clients that do not wait for their
 * answers (an open loop) are not slowed by it: for them the lag reaches the bound, and refusals
 * begin. At most one second: the shortest Retry-After, so a command kept waiting never waits
 * longer than a refused one would before its retry.
 */
export const MAX_ADMISSION_DELAY_MS = 1_000;

export const ADMITTING: AdmissionDecision = { action: 'admit' };

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
    if (this.shedding) return { action: 'shed', retryAfterSeconds: retryAfterSeconds(lagging, this.bounds), worst: mostLagging(lagging) };
    if (readers.length === 0) return ADMITTING;
    const worst = mostLagging(readers);
    const delayMs = this.delayMs(worst.lagMs);
    return delayMs > 0 ? { action: 'delay', delayMs, worst } : ADMITTING;
  }

  /** Forgets a shedding state (a sample could not be taken: the door stays open meanwhile). */
  reset(): void {
    this.shedding = false;
  }

  /** The wait for a lag of `lagMs`: 0 up to delayFromLagMs, MAX_ADMISSION_DELAY_MS at maxLagMs, a straight line between. */
  private delayMs(lagMs: number): number {
    const { delayFromLagMs: from, maxLagMs: to } = this.bounds;
    if (from <= 0 || to <= from || lagMs <= from) return 0;
    return Math.ceil((MAX_ADMISSION_DELAY_MS * Math.min(lagMs - from, to - from)) / (to - from));
  }

  private exceeds(reader: ReaderLag, fraction: number): boolean {
    const { maxLagMs, maxLagEvents } = this.bounds;
    return (maxLagMs > 0 && reader.lagMs > maxLagMs * fraction) || (maxLagEvents > 0 && reader.lagEvents > maxLagEvents * fraction);
  }
}

function mostLagging(readers: readonly ReaderLag[]): ReaderLag {
  return readers.reduce((a, b) => (b.lagMs > a.lagMs || (b.lagMs === a.lagMs && b.lagEvents > a.lagEvents) ? b : a));
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
