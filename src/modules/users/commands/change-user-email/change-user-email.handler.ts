import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { UserRepository } from '../../domain/user.repository';
import { ChangeUserEmailCommand } from './change-user-email.command';

@CommandHandler(ChangeUserEmailCommand)
export class ChangeUserEmailHandler implements ICommandHandler<ChangeUserEmailCommand> {
  constructor(
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ userId, email, expectedVersion }: ChangeUserEmailCommand): Promise<{ version: number }> {
    const user = await this.users.get(userId); // UserNotFoundError → 404
    user.expectVersion(expectedVersion); // VersionMismatchError → 412, also when rerun after a lost race (RunningCommands)
    user.changeEmail(email, this.clock.now()); // UserDeactivatedError → 409
    await this.users.save(user); // EmailAlreadyTakenError → 409
    return { version: user.version };
  }
}
