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

  async execute({ userId, metadata }: DeactivateUserCommand): Promise<void> {
    await retryOnConcurrencyConflict(async () => {
      const user = await this.users.get(userId); // UserNotFoundError → 404
      user.deactivate(this.clock.now()); // UserAlreadyDeactivatedError → 409
      await this.users.save(user, metadata);
    });
  }
}
