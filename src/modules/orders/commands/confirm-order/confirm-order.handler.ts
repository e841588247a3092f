import { CommandBus, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { ReleaseCreditCommand } from '../../../users';
import { OrderRepository } from '../../domain/order.repository';
import { ConfirmOrderCommand } from './confirm-order.command';

@CommandHandler(ConfirmOrderCommand)
export class ConfirmOrderHandler implements ICommandHandler<ConfirmOrderCommand> {
  constructor(
    private readonly orders: OrderRepository,
    private readonly clock: Clock,
    private readonly commands: CommandBus,
  ) {}

  async execute({ orderId, reservedCreditOf }: ConfirmOrderCommand): Promise<void> {
    const order = await this.orders.get(orderId); // OrderNotFoundError → 404
    if (reservedCreditOf === undefined) {
      order.confirm(this.clock.now()); // OrderNotPendingError → 409
    } else if (order.settleReservedCredit(this.clock.now()) === 'give-back') {
      // In the transaction of this command (TransactionContext), under the same cause.
      await this.commands.execute(new ReleaseCreditCommand(reservedCreditOf, orderId));
    }
    await this.orders.save(order);
  }
}
