import { timeOrderedUuid } from './time-ordered-uuid';

/** Time is injected so that the domain and its tests never read the wall clock themselves. */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

export abstract class IdGenerator {
  abstract newId(): string;
}

/**
 * UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then random bits. New ids of events,
 * users and orders sort after older ones, so each insert lands at the right edge of the B-tree
 * indexes on them instead of on a random page: with random (v4) ids a 10 M event store wrote about
 * 5× the WAL per order, mostly full-page images of index pages touched for the first time since a
 * checkpoint (README, Store growth). The price: an id tells when it was made, to the millisecond.
 */
export class TimeOrderedUuidGenerator extends IdGenerator {
  newId(): string {
    return timeOrderedUuid();
  }
}
