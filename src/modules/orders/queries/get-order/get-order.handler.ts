import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { OrderNotFoundError } from '../../domain/order.errors';
import { OrderRecord } from '../../persistence/order.record';
import { GetOrderQuery } from './get-order.query';
import { OrderView, toOrderView } from './order.view';

/**
 * Reads the order's own row, not the `order_summaries` projection: the row is the aggregate's
 * summary, written in the same statement as its events, so it is never behind the command that
 * answered 202 (read-your-writes, as Marten's inline projections give). The projection is fed
 * after the commit and may trail by milliseconds (or longer under load, or while its reader is
 * stopped), which a GET of the `Location` right after a 202 must not see. Lists, which need the
 * projection's indexes and shape, stay on it and are eventually consistent.
 */
@QueryHandler(GetOrderQuery)
export class GetOrderHandler implements IQueryHandler<GetOrderQuery> {
  constructor(@InjectRepository(OrderRecord) private readonly orders: Repository<OrderRecord>) {}

  async execute({ orderId }: GetOrderQuery): Promise<OrderView> {
    const order = await this.orders.findOneBy({ id: orderId });
    if (!order) throw new OrderNotFoundError(orderId);
    return toOrderView(order);
  }
}
