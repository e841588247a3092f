import { Command } from '@nestjs/cqrs';

/** Answers the order's new stream version. */
export class ShipOrderCommand extends Command<{ version: number }> {
  constructor(
    readonly orderId: string,
    /** The version the caller based this on (`If-Match`); undefined: whatever is current. */
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
