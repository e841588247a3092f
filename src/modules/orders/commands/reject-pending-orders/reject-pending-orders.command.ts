import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store';

/** Rejects every PENDING order of a customer, e.g. because the customer was deactivated. */
export class RejectPendingOrdersCommand extends Command<void> {
  constructor(
    readonly customerId: string,
    readonly reason: string,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
