import { User } from './user';

/** Port: loads a user and saves it together with its new events, in one transaction. */
export abstract class UserRepository {
  /** @throws UserNotFoundError */
  abstract get(id: string): Promise<User>;
  /** @throws EmailAlreadyTakenError, ConcurrencyConflictError */
  abstract save(user: User): Promise<void>;
  /**
   * Whether the user's stream records an answer to the credit asked for `orderId` (CreditReserved
   * or CreditRejected), whatever became of it since: the user's state keeps a reservation only
   * until it is consumed or released, and a refusal leaves no trace there. Read inside the
   * current transaction, if any.
   */
  abstract creditAnswerRecorded(userId: string, orderId: string): Promise<boolean>;
}
