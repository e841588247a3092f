import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { OrderRepository } from '../../domain/order.repository';
import { ConfirmOrderCommand } from './confirm-order.command';

@CommandHandler(ConfirmOrderCommand)
export class ConfirmOrderHandler implements ICommandHandler<ConfirmOrderCommand> {
  constructor(
    private readonly orders: OrderRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ orderId, creditReserved }: ConfirmOrderCommand): Promise<void> {
    const order = await this.orders.get(orderId); // OrderNotFoundError → 404
    if (creditReserved) order.settleReservedCredit(this.clock.now());
    else order.confirm(this.clock.now()); // OrderNotPendingError → 409
    await this.orders.save(order);
  }
}
