import { CommandHandler, ICommandHandler, QueryBus } from '@nestjs/cqrs';
import { Clock, IdGenerator } from '../../../../shared/clock';
import { UserExistsQuery } from '../../../users';
import { Order } from '../../domain/order';
import { CustomerNotFoundError } from '../../domain/order.errors';
import { OrderRepository } from '../../domain/order.repository';
import { PlaceOrderCommand } from './place-order.command';

@CommandHandler(PlaceOrderCommand)
export class PlaceOrderHandler implements ICommandHandler<PlaceOrderCommand> {
  constructor(
    private readonly orders: OrderRepository,
    private readonly queries: QueryBus,
    private readonly ids: IdGenerator,
    private readonly clock: Clock,
  ) {}

  async execute({ customerId, currency, lines }: PlaceOrderCommand): Promise<{ id: string; version: number }> {
    const customerExists = await this.queries.execute(new UserExistsQuery(customerId));
    if (!customerExists) throw new CustomerNotFoundError(customerId);
    const order = Order.place({ id: this.ids.newId(), customerId, currency, lines }, this.clock.now());
    await this.orders.save(order);
    return { id: order.id, version: order.version };
  }
}
