/** How a domain error reads to a client; the problem+json filter turns it into a status code. */
export type DomainErrorKind = 'not-found' | 'conflict' | 'invalid' | 'unprocessable' | 'precondition-failed' | 'unavailable';

/**
 * An expected failure of a use case, with a stable machine-readable `code`
 * (`ORDER_ALREADY_SHIPPED`). Subclasses are named `<Thing><Problem>Error`.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  abstract readonly kind: DomainErrorKind;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Another writer changed the aggregate since it was loaded: the command lost the race. */
export class ConcurrencyConflictError extends DomainError {
  readonly code = 'CONCURRENT_MODIFICATION';
  readonly kind = 'conflict';

  constructor(streamId: string) {
    super(`${streamId} was changed by another request; reload and retry`);
  }
}

/**
 * The caller said which version of the aggregate its command is based on (`If-Match`), and the
 * aggregate is at another one: nothing was written. Unlike a lost race without an expected
 * version, this is never retried on the newer state: the caller has not seen it.
 */
export class VersionMismatchError extends DomainError {
  readonly code = 'VERSION_MISMATCH';
  readonly kind = 'precondition-failed';

  constructor(streamId: string, expected: number, actual: number) {
    super(`${streamId} is at version ${actual}, not the expected ${expected}; read it again for its current state and version`);
  }
}
