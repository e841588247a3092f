import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { UserRepository } from '../../domain/user.repository';
import { ReserveCreditCommand } from './reserve-credit.command';

@CommandHandler(ReserveCreditCommand)
export class ReserveCreditHandler implements ICommandHandler<ReserveCreditCommand> {
  constructor(
    private readonly users: UserRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ userId, orderId, amount }: ReserveCreditCommand): Promise<void> {
    const user = await this.users.getForOrderCredit(userId, orderId);
    user.reserveCredit(orderId, amount, this.clock.now());
    await this.users.save(user);
  }
}
