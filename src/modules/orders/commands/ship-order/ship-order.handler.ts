import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Clock } from '../../../../shared/clock';
import { OrderRepository } from '../../domain/order.repository';
import { ShipOrderCommand } from './ship-order.command';

@CommandHandler(ShipOrderCommand)
export class ShipOrderHandler implements ICommandHandler<ShipOrderCommand> {
  constructor(
    private readonly orders: OrderRepository,
    private readonly clock: Clock,
  ) {}

  async execute({ orderId, expectedVersion }: ShipOrderCommand): Promise<{ version: number }> {
    const order = await this.orders.get(orderId); // OrderNotFoundError → 404
    order.expectVersion(expectedVersion); // VersionMismatchError → 412, also when rerun after a lost race (RunningCommands)
    order.ship(this.clock.now()); // OrderCannotBeShippedError → 409
    await this.orders.save(order);
    return { version: order.version };
  }
}
