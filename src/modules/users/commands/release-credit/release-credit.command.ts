import { Command } from '@nestjs/cqrs';

/** Compensation: gives back what was reserved for an order that will not ship. */
export class ReleaseCreditCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly orderId: string,
  ) {
    super();
  }
}
