import { Injectable } from '@nestjs/common';
import { ICommand, ofType, Saga } from '@nestjs/cqrs';
import { Observable } from 'rxjs';
import { map } from 'rxjs/operators';
import { CreditRejectedV1, CreditReservedV1, UserDeactivatedV1 } from '../../../contracts';
import { DurableReaction } from '../../../event-store';
import { ConfirmOrderCommand } from '../commands/confirm-order/confirm-order.command';
import { RejectOrderCommand } from '../commands/reject-order/reject-order.command';
import { RejectPendingOrdersCommand } from '../commands/reject-pending-orders/reject-pending-orders.command';

export const CUSTOMER_DEACTIVATED_REASON = 'customer deactivated';
/** Stored with the saga's checkpoint and receipts: never rename it (see DurableReaction). */
export const ORDER_FULFILMENT_REACTION_ID = 'order-fulfilment';

type OrderFulfilmentEvent = CreditReservedV1 | CreditRejectedV1 | UserDeactivatedV1;

/**
 * The Orders module's half of the order's way from PENDING to a decision: what it does about the
 * Users module's answers, which it reads as that module's published contracts (src/contracts),
 * never as its domain events. The other half, the credit itself, is the Users module's
 * OrderCreditSaga (over this module's contracts).
 *
 *   CreditReservedV1 ──► ConfirmOrder (CONFIRMED; an order decided meanwhile declines the credit: OrderCreditDeclined)
 *   CreditRejectedV1 ──► RejectOrder (REJECTED, with the reason)
 *   UserDeactivatedV1 ──► RejectPendingOrders
 *
 * The wait for the answer is no step of it: the order's deadline is written with the order
 * (OrderDeadlines.ofPlacement), and OrderDeadlineWatcher rejects it with reason `timeout` when no
 * answer came in time. So an order costs this saga one event and one step, not two.
 *
 * One durable reaction, `reaction:order-fulfilment`, partitioned by customer; each member is one
 * step, and a receipt per event and step keeps any event from being acted on twice, whatever
 * happened to the aggregates since (see ReactionSubscription). The commands are no-ops when
 * already applied besides.
 */
@Injectable()
@DurableReaction({
  id: ORDER_FULFILMENT_REACTION_ID,
  events: [CreditReservedV1, CreditRejectedV1, UserDeactivatedV1],
  // Every step acts on one customer's orders: one customer's events in commit order, one at a
  // time, different customers' at once. (The same keys as when the saga read OrderPlaced too.)
  partitionBy: (event) => (event as OrderFulfilmentEvent).userId,
})
export class OrderFulfilmentSaga {
  /**
   * The credit may arrive after the order was decided without it (cancelled by the customer,
   * rejected by its deadline): then the order declines it, and the Users module gives it back.
   * The order decides which, in the step's transaction, from the one load its command makes
   * (Order.settleReservedCredit).
   */
  @Saga()
  confirmOrderWhenCreditReserved = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(CreditReservedV1),
      map((reserved) => ConfirmOrderCommand.onCreditReserved(reserved.orderId)),
    );

  @Saga()
  rejectOrderWhenCreditRejected = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(CreditRejectedV1),
      map((rejected) => new RejectOrderCommand(rejected.orderId, rejected.reason)),
    );

  @Saga()
  rejectPendingOrdersOfDeactivatedCustomer = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(UserDeactivatedV1),
      map((deactivated) => new RejectPendingOrdersCommand(deactivated.userId, CUSTOMER_DEACTIVATED_REASON)),
    );
}
