import { Command } from '@nestjs/cqrs';

export class ConfirmOrderCommand extends Command<void> {
  constructor(
    readonly orderId: string,
    /**
     * The customer whose credit was reserved for the order, when the saga sends the command on
     * CreditReserved. The order then decides what becomes of the reservation
     * (Order.settleReservedCredit): an order decided without it meanwhile gives it back instead
     * of refusing the confirmation, and one confirmed already changes nothing. Without it the
     * command confirms a PENDING order, does nothing to a confirmed one, and fails on any other
     * (OrderNotPendingError).
     */
    readonly reservedCreditOf?: string,
  ) {
    super();
  }
}
