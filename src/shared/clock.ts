import { randomUUID } from 'node:crypto';

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

export class RandomUuidGenerator extends IdGenerator {
  newId(): string {
    return randomUUID();
  }
}
