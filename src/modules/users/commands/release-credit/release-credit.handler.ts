import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { UserRepository } from '../../domain/user.repository';
import { ReleaseCreditCommand } from './release-credit.command';

@CommandHandler(ReleaseCreditCommand)
export class ReleaseCreditHandler implements ICommandHandler<ReleaseCreditCommand> {
  constructor(
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ userId, orderId }: ReleaseCreditCommand): Promise<void> {
    const user = await this.users.getForOrderCredit(userId, orderId);
    user.releaseCredit(orderId, this.clock.now());
    await this.users.save(user);
  }
}
