import { Command } from '@nestjs/cqrs';

/** Rejects an order that is still PENDING; one that moved on meanwhile is left alone. Answers whether it rejected it. */
export class RejectOrderCommand extends Command<{ rejected: boolean }> {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {
    super();
  }
}
