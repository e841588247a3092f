import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { retryOnConcurrencyConflict } from '../../../../shared/retry-on-conflict';
import { UserRepository } from '../../domain/user.repository';
import { DeactivateUserCommand } from './deactivate-user.command';

@CommandHandler(DeactivateUserCommand)
export class DeactivateUserHandler implements ICommandHandler<DeactivateUserCommand> {
  constructor(
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ userId, expectedVersion }: DeactivateUserCommand): Promise<{ version: number }> {
    return retryOnConcurrencyConflict(async () => {
      const user = await this.users.get(userId); // UserNotFoundError → 404
      user.expectVersion(expectedVersion); // VersionMismatchError → 412, also on the retry after a lost race
      user.deactivate(this.clock.now()); // UserAlreadyDeactivatedError → 409
      await this.users.save(user);
      return { version: user.version };
    });
  }
}
