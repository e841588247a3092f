import { Query } from '@nestjs/cqrs';

/**
 * Whether the Users module answered the credit asked for the order (CreditReserved or
 * CreditRejected is recorded in the user's stream), whatever became of it since. Read inside the
 * current transaction, if any.
 */
export class CreditAnsweredQuery extends Query<boolean> {
  constructor(
    readonly userId: string,
    readonly orderId: string,
  ) {
    super();
  }
}
