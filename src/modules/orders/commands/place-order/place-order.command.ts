import { Command } from '@nestjs/cqrs';
import type { OrderLine } from '../../domain/order';

/** Answers the new order's id and stream version. */
export class PlaceOrderCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly customerId: string,
    readonly currency: string,
    readonly lines: OrderLine[],
  ) {
    super();
  }
}
