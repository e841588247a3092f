import { Command } from '@nestjs/cqrs';

/** Sent by the order saga for a placed order; answered by CreditReserved or CreditRejected. */
export class ReserveCreditCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly orderId: string,
    readonly amount: number,
  ) {
    super();
  }
}
