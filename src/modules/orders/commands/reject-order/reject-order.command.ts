import { Command } from '@nestjs/cqrs';

/** Rejects an order that is still PENDING; one that moved on meanwhile is left alone. */
export class RejectOrderCommand extends Command<void> {
  constructor(
    readonly orderId: string,
    readonly reason: string,
  ) {
    super();
  }
}
