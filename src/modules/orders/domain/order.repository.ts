import { Order } from './order';

/** Port: loads an order and saves it together with its new events, in one transaction. */
export abstract class OrderRepository {
  /** @throws OrderNotFoundError */
  abstract get(id: string): Promise<Order>;
  /** The customer's orders still waiting for the saga. */
  abstract pendingOf(customerId: string): Promise<Order[]>;
  /** @throws ConcurrencyConflictError */
  abstract save(order: Order): Promise<void>;
}
