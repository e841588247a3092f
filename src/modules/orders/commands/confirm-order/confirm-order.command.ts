import { Command } from '@nestjs/cqrs';

export class ConfirmOrderCommand extends Command<void> {
  constructor(
    readonly orderId: string,
    /**
     * True when the saga sends the command because the customer's credit was reserved for the
     * order (CreditReservedV1). The order then decides what becomes of the reservation
     * (Order.settleReservedCredit): an order decided without it meanwhile declines it instead of
     * refusing the confirmation, and one confirmed already changes nothing. Otherwise the command
     * confirms a PENDING order, does nothing to a confirmed one, and fails on any other
     * (OrderNotPendingError).
     */
    readonly creditReserved = false,
  ) {
    super();
  }

  /** The saga's confirmation on CreditReservedV1: the order settles the reservation (see `creditReserved`). */
  static onCreditReserved(orderId: string): ConfirmOrderCommand {
    return new ConfirmOrderCommand(orderId, true);
  }
}
