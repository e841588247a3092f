import { DomainError } from '../../shared/domain-error';

export class InvalidIdempotencyKeyError extends DomainError {
  readonly code = 'INVALID_IDEMPOTENCY_KEY';
  readonly kind = 'invalid';

  constructor() {
    super('Idempotency-Key must be 1 to 255 visible ASCII characters');
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  readonly kind = 'unprocessable';

  constructor() {
    super('this Idempotency-Key was used for a different request body; use a new key');
  }
}
