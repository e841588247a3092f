import { Injectable } from '@nestjs/common';
import { ICommand, ofType, Saga } from '@nestjs/cqrs';
import { Observable } from 'rxjs';
import { map } from 'rxjs/operators';
import { OrderCancelledV1, OrderCreditDeclinedV1, OrderPlacedV1, OrderRejectedV1, OrderShippedV1 } from '../../../contracts';
import { DurableReaction } from '../../../event-store';
import { ConsumeCreditCommand } from '../commands/consume-credit/consume-credit.command';
import { ReleaseCreditCommand } from '../commands/release-credit/release-credit.command';
import { ReserveCreditCommand } from '../commands/reserve-credit/reserve-credit.command';

/** Stored with the saga's checkpoint and receipts: never rename it (see DurableReaction). */
export const ORDER_CREDIT_REACTION_ID = 'order-credit';

type OrderCreditEvent = OrderPlacedV1 | OrderCancelledV1 | OrderRejectedV1 | OrderShippedV1 | OrderCreditDeclinedV1;

/**
 * The Users module's half of an order's way: the customer's credit, kept by what the Orders
 * module publishes (its contracts in src/contracts, never its domain events). The other half,
 * deciding the order on the answer, is the Orders module's OrderFulfilmentSaga.
 *
 *   OrderPlacedV1 ──► ReserveCredit ──► CreditReserved or CreditRejected (with the reason)
 *   OrderCancelledV1 / OrderRejectedV1 ──► ReleaseCredit   (compensation; a no-op without a reservation)
 *   OrderCreditDeclinedV1 ──► ReleaseCredit                (credit reserved after the order was decided)
 *   OrderShippedV1 ──► ConsumeCredit
 *
 * One durable reaction, `reaction:order-credit`, keyed by customer: every step acts on the
 * customer's account, so one customer's events are taken one at a time in commit order (a release
 * never overtakes its reservation, no two credit commands race), different customers' at once.
 */
@Injectable()
@DurableReaction({
  id: ORDER_CREDIT_REACTION_ID,
  events: [OrderPlacedV1, OrderCancelledV1, OrderRejectedV1, OrderShippedV1, OrderCreditDeclinedV1],
  partitionBy: (event) => (event as OrderCreditEvent).customerId,
})
export class OrderCreditSaga {
  @Saga()
  reserveCreditForPlacedOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderPlacedV1),
      map((placed) => new ReserveCreditCommand(placed.customerId, placed.orderId, placed.total)),
    );

  @Saga()
  releaseCreditOfClosedOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderCancelledV1, OrderRejectedV1),
      map((closed) => new ReleaseCreditCommand(closed.customerId, closed.orderId)),
    );

  @Saga()
  releaseCreditDeclinedByOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderCreditDeclinedV1),
      map((declined) => new ReleaseCreditCommand(declined.customerId, declined.orderId)),
    );

  @Saga()
  consumeCreditOfShippedOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderShippedV1),
      map((shipped) => new ConsumeCreditCommand(shipped.customerId, shipped.orderId)),
    );
}
