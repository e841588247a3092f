import { Query } from '@nestjs/cqrs';
import { OrderView } from './order.view';

export class GetOrderQuery extends Query<OrderView> {
  constructor(readonly orderId: string) {
    super();
  }
}
