import { Command } from '@nestjs/cqrs';

/** Rejects every PENDING order of a customer, e.g. because the customer was deactivated. */
export class RejectPendingOrdersCommand extends Command<void> {
  constructor(
    readonly customerId: string,
    readonly reason: string,
  ) {
    super();
  }
}
