import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { OrderRepository } from '../../domain/order.repository';
import { CancelOrderCommand } from './cancel-order.command';

@CommandHandler(CancelOrderCommand)
export class CancelOrderHandler implements ICommandHandler<CancelOrderCommand> {
  constructor(
    private readonly orders: OrderRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ orderId, reason, expectedVersion }: CancelOrderCommand): Promise<{ version: number }> {
    const order = await this.orders.get(orderId); // OrderNotFoundError → 404
    order.expectVersion(expectedVersion); // VersionMismatchError → 412, also when rerun after a lost race (RunningCommands)
    order.cancel(reason, this.clock.now()); // OrderCannotBeCancelledError → 409
    await this.orders.save(order);
    return { version: order.version };
  }
}
