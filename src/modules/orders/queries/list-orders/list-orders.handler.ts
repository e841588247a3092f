import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { OrderSummaryRecord } from '../../projections/order-summary.record';
import { toOrderView } from '../get-order/order.view';
import { ListOrdersQuery, OrderPage } from './list-orders.query';
import { decodeCursor, encodeCursor } from './order-cursor';

/** Newest first, keyset-paginated on (created_at, id) so pages stay stable while orders arrive. */
@QueryHandler(ListOrdersQuery)
export class ListOrdersHandler implements IQueryHandler<ListOrdersQuery> {
  constructor(@InjectRepository(OrderSummaryRecord) private readonly summaries: Repository<OrderSummaryRecord>) {}

  async execute({ filter, limit, cursor }: ListOrdersQuery): Promise<OrderPage> {
    const query = this.summaries
      .createQueryBuilder('o')
      .orderBy('o.created_at', 'DESC')
      .addOrderBy('o.id', 'DESC')
      .limit(limit + 1);
    if (filter.customerId) query.andWhere('o.customer_id = :customerId', { customerId: filter.customerId });
    if (filter.status) query.andWhere('o.status = :status', { status: filter.status });
    if (cursor) {
      const after = decodeCursor(cursor);
      query.andWhere('(o.created_at, o.id) < (:createdAt::timestamptz, :id::uuid)', after);
    }
    const rows = await query.getMany();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toOrderView),
      nextCursor: rows.length > limit ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
    };
  }
}
