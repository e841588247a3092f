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
    // The saga, the deadline and the customer race for a pending order; whoever comes second
    // finds it decided and leaves it as it is.
    if (order.status !== 'PENDING') return { rejected: false };
    order.reject(reason, this.clock.now());
    await this.orders.save(order);
    return { rejected: true };
  }
}
