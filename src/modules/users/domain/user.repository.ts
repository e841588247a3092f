import { User } from './user';

/** Port: loads a user and saves it together with its new events, in one transaction. */
export abstract class UserRepository {
  /** The user without any credit reservation (a step that asks for one fails: CreditReservationNotLoadedError). @throws UserNotFoundError */
  abstract get(id: string): Promise<User>;
  /**
   * The user with the open credit reservation of `orderId`, if any: what a credit step decides on,
   * in one query whatever the number of the user's other open orders.
   * @throws UserNotFoundError
   */
  abstract getForOrderCredit(id: string, orderId: string): Promise<User>;
  /** The row, the new events and the reservations they opened or closed, in one statement. @throws EmailAlreadyTakenError, ConcurrencyConflictError */
  abstract save(user: User): Promise<void>;
  /**
   * Whether the user's stream records an answer to the credit asked for `orderId` (CreditReserved
   * or CreditRejected), whatever became of it since: the user's state keeps a reservation only
   * until it is consumed or released, and a refusal leaves no trace there. Read inside the
   * current transaction, if any.
   */
  abstract creditAnswerRecorded(userId: string, orderId: string): Promise<boolean>;
}
