import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { OrderNotFoundError } from '../../domain/order.errors';
import { OrderSummaryRecord } from '../../projections/order-summary.record';
import { GetOrderQuery } from './get-order.query';
import { OrderView, toOrderView } from './order.view';

@QueryHandler(GetOrderQuery)
export class GetOrderHandler implements IQueryHandler<GetOrderQuery> {
  constructor(@InjectRepository(OrderSummaryRecord) private readonly summaries: Repository<OrderSummaryRecord>) {}

  async execute({ orderId }: GetOrderQuery): Promise<OrderView> {
    const summary = await this.summaries.findOneBy({ id: orderId });
    if (!summary) throw new OrderNotFoundError(orderId);
    return toOrderView(summary);
  }
}
