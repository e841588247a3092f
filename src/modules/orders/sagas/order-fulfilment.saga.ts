import { Injectable } from '@nestjs/common';
import { ICommand, ofType, Saga } from '@nestjs/cqrs';
import { Observable } from 'rxjs';
import { map } from 'rxjs/operators';
import { DurableReaction } from '../../../event-store';
import {
  ConsumeCreditCommand,
  CreditRejectedEvent,
  CreditReservedEvent,
  ReleaseCreditCommand,
  ReserveCreditCommand,
  UserDeactivatedEvent,
} from '../../users';
import { ConfirmOrderCommand } from '../commands/confirm-order/confirm-order.command';
import { RejectOrderCommand } from '../commands/reject-order/reject-order.command';
import { RejectPendingOrdersCommand } from '../commands/reject-pending-orders/reject-pending-orders.command';
import { ScheduleOrderDeadlineCommand } from '../deadlines/schedule-order-deadline.command';
import {
  OrderCancelledEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
} from '../domain/order.events';

export const CUSTOMER_DEACTIVATED_REASON = 'customer deactivated';
/** Stored with the saga's checkpoint and receipts: never rename it (see DurableReaction). */
export const ORDER_FULFILMENT_REACTION_ID = 'order-fulfilment';

/**
 * Every step acts on one customer's account or on their orders: one customer's events are taken
 * in commit order, one at a time (no two of their credit commands race), different customers' at
 * once. Each event the saga reads names its customer.
 */
export function customerOf(event: OrderFulfilmentEvent): string {
  return 'customerId' in event ? event.customerId : event.userId;
}

type OrderFulfilmentEvent =
  | OrderPlacedEvent
  | CreditReservedEvent
  | CreditRejectedEvent
  | OrderCancelledEvent
  | OrderRejectedEvent
  | OrderShippedEvent
  | UserDeactivatedEvent;

/**
 * The order's way from PENDING to a decision, and the credit that goes with it:
 *
 *   OrderPlaced ──► ReserveCredit ──► CreditReserved ──► ConfirmOrder (CONFIRMED; an order decided meanwhile releases the credit)
 *               │                └─► CreditRejected ──► RejectOrder (REJECTED, with the reason)
 *               └─► ScheduleOrderDeadline ··· no credit answer in time ··► RejectOrder ("timeout")
 *   OrderCancelled / OrderRejected ──► ReleaseCredit      (compensation; a no-op without a reservation)
 *   OrderShipped ──► ConsumeCredit
 *   UserDeactivated ──► RejectPendingOrders
 *
 * The class is one durable reaction, `reaction:order-fulfilment`: it reads only the events below,
 * partitioned by customer, each member is one step, and a receipt per event and step keeps any event from being acted on
 * twice, whatever happened to the aggregates since (see ReactionSubscription). The commands are
 * no-ops when already applied besides.
 */
@Injectable()
@DurableReaction({
  id: ORDER_FULFILMENT_REACTION_ID,
  events: [OrderPlacedEvent, CreditReservedEvent, CreditRejectedEvent, OrderCancelledEvent, OrderRejectedEvent, OrderShippedEvent, UserDeactivatedEvent],
  partitionBy: (event) => customerOf(event as OrderFulfilmentEvent),
  // A deadline concerns its own order only: it stands even while an earlier order's credit step waits.
  stepsAhead: ['scheduleDeadlineForPlacedOrder'],
})
export class OrderFulfilmentSaga {
  /**
   * The durable timeout of the wait for credit (OrderDeadlineWatcher fires it). Its own step, so
   * the deadline counts from the moment the saga handled the order and stands even when reserving
   * the credit fails and is retried or parked: that is the case it exists for.
   */
  @Saga()
  scheduleDeadlineForPlacedOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderPlacedEvent),
      map((placed) => new ScheduleOrderDeadlineCommand(placed.orderId)),
    );

  @Saga()
  reserveCreditForPlacedOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderPlacedEvent),
      map((placed) => new ReserveCreditCommand(placed.customerId, placed.orderId, placed.total.amount)),
    );

  /**
   * The credit may arrive after the order was decided without it (cancelled by the customer,
   * rejected by its deadline): then the reservation goes straight back. The order decides which,
   * in the step's transaction, from the one load its command makes (Order.settleReservedCredit);
   * a reservation given back is released by a ReleaseCreditCommand inside ConfirmOrderCommand.
   */
  @Saga()
  confirmOrderWhenCreditReserved = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(CreditReservedEvent),
      map((reserved) => new ConfirmOrderCommand(reserved.orderId, reserved.userId)),
    );

  @Saga()
  rejectOrderWhenCreditRejected = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(CreditRejectedEvent),
      map((rejected) => new RejectOrderCommand(rejected.orderId, rejected.reason)),
    );

  @Saga()
  releaseCreditOfClosedOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderCancelledEvent, OrderRejectedEvent),
      map((closed) => new ReleaseCreditCommand(closed.customerId, closed.orderId)),
    );

  @Saga()
  consumeCreditOfShippedOrder = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(OrderShippedEvent),
      map((shipped) => new ConsumeCreditCommand(shipped.customerId, shipped.orderId)),
    );

  @Saga()
  rejectPendingOrdersOfDeactivatedCustomer = (events$: Observable<object>): Observable<ICommand> =>
    events$.pipe(
      ofType(UserDeactivatedEvent),
      map((deactivated) => new RejectPendingOrdersCommand(deactivated.userId, CUSTOMER_DEACTIVATED_REASON)),
    );
}
