import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { UserRepository } from '../../domain/user.repository';
import { DeactivateUserCommand } from './deactivate-user.command';

@CommandHandler(DeactivateUserCommand)
export class DeactivateUserHandler implements ICommandHandler<DeactivateUserCommand> {
  constructor(
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ userId, expectedVersion }: DeactivateUserCommand): Promise<{ version: number }> {
    const user = await this.users.get(userId); // UserNotFoundError → 404
    user.expectVersion(expectedVersion); // VersionMismatchError → 412, also when rerun after a lost race (RunningCommands)
    user.deactivate(this.clock.now()); // UserAlreadyDeactivatedError → 409
    await this.users.save(user);
    return { version: user.version };
  }
}
