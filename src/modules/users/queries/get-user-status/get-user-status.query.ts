import { Query } from '@nestjs/cqrs';
import type { UserStatus } from '../../domain/user';

/**
 * The user's current status from the write model (no projection lag), or null when no such
 * user exists. Other modules use it to check a customer before acting for them.
 */
export class GetUserStatusQuery extends Query<UserStatus | null> {
  constructor(readonly userId: string) {
    super();
  }
}
