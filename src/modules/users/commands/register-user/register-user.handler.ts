import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock, IdGenerator } from '../../../../shared/clock';
import { User } from '../../domain/user';
import { UserRepository } from '../../domain/user.repository';
import { RegisterUserCommand } from './register-user.command';

@CommandHandler(RegisterUserCommand)
export class RegisterUserHandler implements ICommandHandler<RegisterUserCommand> {
  constructor(
    private readonly users: UserRepository,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
  ) {}

  async execute({ email, name, creditLimit }: RegisterUserCommand): Promise<{ id: string; version: number }> {
    const user = User.register({ id: this.ids.newId(), email, name, creditLimit }, this.clock.now());
    await this.users.save(user); // EmailAlreadyTakenError → 409
    return { id: user.id, version: user.version };
  }
}
