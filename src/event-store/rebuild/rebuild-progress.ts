import type { SequencedEvent } from '../stored-event';

export interface RebuildProgress {
  projection: string;
  eventsDone: number;
  /** The events in the store when the rebuild started, plus those appended since. */
  eventsTotal: number;
  eventsPerSecond: number;
  /** Unknown until the first events are done. */
  secondsLeft: number | undefined;
}

/** Counts replayed events against the size of the store and derives rate and time left. */
export class RebuildProgressMeter {
  private readonly startedAt: number;
  private eventsDone = 0;
  private eventsAppendedSinceStart = 0;

  constructor(
    private readonly projection: string,
    private readonly store: { eventCount: number; lastPosition: bigint },
    private readonly now: () => number,
  ) {
    this.startedAt = now();
  }

  record(events: readonly SequencedEvent[]): RebuildProgress {
    this.eventsDone += events.length;
    for (const event of events) if (BigInt(event.globalPosition) > this.store.lastPosition) this.eventsAppendedSinceStart += 1;
    return this.current();
  }

  current(): RebuildProgress {
    // Events counted at the start but numbered after it are counted twice; the total never falls
    // below what is done.
    const eventsTotal = Math.max(this.eventsDone, this.store.eventCount + this.eventsAppendedSinceStart);
    const seconds = Math.max(this.now() - this.startedAt, 1) / 1000;
    const eventsPerSecond = this.eventsDone / seconds;
    return {
      projection: this.projection,
      eventsDone: this.eventsDone,
      eventsTotal,
      eventsPerSecond,
      secondsLeft: eventsPerSecond > 0 ? (eventsTotal - this.eventsDone) / eventsPerSecond : undefined,
    };
  }
}
