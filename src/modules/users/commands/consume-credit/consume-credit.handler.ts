import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { UserRepository } from '../../domain/user.repository';
import { ConsumeCreditCommand } from './consume-credit.command';

@CommandHandler(ConsumeCreditCommand)
export class ConsumeCreditHandler implements ICommandHandler<ConsumeCreditCommand> {
  constructor(
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ userId, orderId }: ConsumeCreditCommand): Promise<void> {
    const user = await this.users.getForOrderCredit(userId, orderId);
    user.consumeCredit(orderId, this.clock.now());
    await this.users.save(user);
  }
}
