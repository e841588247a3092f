import { Command } from '@nestjs/cqrs';

/** Answers the order's new stream version. */
export class CancelOrderCommand extends Command<{ version: number }> {
  constructor(
    readonly orderId: string,
    readonly reason: string,
    /** The version the caller based this on (`If-Match`); undefined: whatever is current. */
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
