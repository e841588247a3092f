import { User } from './user';

/** Port: loads a user and saves it together with its new events, in one transaction. */
export abstract class UserRepository {
  /** @throws UserNotFoundError */
  abstract get(id: string): Promise<User>;
  /** @throws EmailAlreadyTakenError, ConcurrencyConflictError */
  abstract save(user: User): Promise<void>;
}
