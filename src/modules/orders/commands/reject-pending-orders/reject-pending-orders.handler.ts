import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { OrderRepository } from '../../domain/order.repository';
import { RejectPendingOrdersCommand } from './reject-pending-orders.command';

@CommandHandler(RejectPendingOrdersCommand)
export class RejectPendingOrdersHandler implements ICommandHandler<RejectPendingOrdersCommand> {
  constructor(
    private readonly orders: OrderRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ customerId, reason }: RejectPendingOrdersCommand): Promise<void> {
    for (const order of await this.orders.pendingOf(customerId)) {
      order.reject(reason, this.clock.now());
      await this.orders.save(order);
    }
  }
}
