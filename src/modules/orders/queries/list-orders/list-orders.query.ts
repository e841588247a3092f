import { Query } from '@nestjs/cqrs';
import type { OrderStatus } from '../../domain/order';
import { OrderView } from '../get-order/order.view';

export interface OrderPage {
  items: OrderView[];
  nextCursor: string | null;
}

export class ListOrdersQuery extends Query<OrderPage> {
  constructor(
    readonly filter: { customerId?: string; status?: OrderStatus },
    readonly limit: number,
    readonly cursor?: string,
  ) {
    super();
  }
}
