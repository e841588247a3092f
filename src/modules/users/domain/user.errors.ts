import { DomainError } from '../../../shared/domain-error';

export class UserNotFoundError extends DomainError {
  readonly code = 'USER_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(userId: string) {
    super(`user ${userId} does not exist`);
  }
}

export class EmailAlreadyTakenError extends DomainError {
  readonly code = 'EMAIL_TAKEN';
  readonly kind = 'conflict';

  constructor(email: string) {
    super(`the email ${email} belongs to another user`);
  }
}

export class UserAlreadyDeactivatedError extends DomainError {
  readonly code = 'USER_ALREADY_DEACTIVATED';
  readonly kind = 'conflict';

  constructor(userId: string) {
    super(`user ${userId} is already deactivated`);
  }
}

export class UserDeactivatedError extends DomainError {
  readonly code = 'USER_DEACTIVATED';
  readonly kind = 'conflict';

  constructor(userId: string) {
    super(`user ${userId} is deactivated and cannot be changed`);
  }
}

export class InvalidUserError extends DomainError {
  readonly code = 'INVALID_USER';
  readonly kind = 'invalid';
}

/**
 * A credit step asked about an order whose reservation was not loaded with the user: a
 * programming error (load it with UserRepository.getForOrderCredit), never a user's.
 */
export class CreditReservationNotLoadedError extends Error {
  constructor(userId: string, orderId: string) {
    super(`the credit reservation of order ${orderId} was not loaded with user ${userId}`);
    this.name = 'CreditReservationNotLoadedError';
  }
}
