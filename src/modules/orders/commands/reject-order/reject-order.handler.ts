import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { OrderRepository } from '../../domain/order.repository';
import { RejectOrderCommand } from './reject-order.command';

@CommandHandler(RejectOrderCommand)
export class RejectOrderHandler implements ICommandHandler<RejectOrderCommand> {
  constructor(
    private readonly orders: OrderRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ orderId, reason }: RejectOrderCommand): Promise<{ rejected: boolean }> {
    const order = await this.orders.get(orderId);
    if (!order.rejectIfPending(reason, this.clock.now())) return { rejected: false };
    await this.orders.save(order);
    return { rejected: true };
  }
}
