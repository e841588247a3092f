import { Command } from '@nestjs/cqrs';

/** Sent when an order ships: its reservation becomes a charge. */
export class ConsumeCreditCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly orderId: string,
  ) {
    super();
  }
}
