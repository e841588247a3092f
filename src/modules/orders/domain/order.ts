import { VersionedAggregate } from '../../../event-store';
import {
  InvalidOrderError,
  OrderCannotBeCancelledError,
  OrderCannotBeShippedError,
  OrderNotPendingError,
} from './order.errors';
import {
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
  OrderCreditDeclinedEvent,
  type Money,
} from './order.events';

export const ORDER_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED', 'SHIPPED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const ORDER_LIMITS = {
  minLines: 1,
  maxLines: 100,
  maxQuantity: 10_000,
  maxUnitPrice: 100_000_000,
  maxSkuLength: 64,
  maxReasonLength: 500,
} as const;

/** A line of an order; `unitPrice` is in minor units of the order's currency. */
export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/** The order's state as its `orders` row holds it: the columns, flat, `rejectionReason` null unless REJECTED. */
export interface OrderSnapshot {
  id: string;
  customerId: string;
  status: OrderStatus;
  currency: string;
  lines: OrderLine[];
  total: number;
  rejectionReason: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What every order has, whatever its status. */
interface PlacedOrder {
  id: string;
  customerId: string;
  currency: string;
  lines: OrderLine[];
  /** Minor units of `currency`. */
  total: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The order's state by status: what only one status has (a rejection's reason) exists only there. */
type OrderState =
  | (PlacedOrder & { status: 'PENDING' })
  | (PlacedOrder & { status: 'CONFIRMED' })
  | (PlacedOrder & { status: 'REJECTED'; rejectionReason: string })
  | (PlacedOrder & { status: 'CANCELLED' })
  | (PlacedOrder & { status: 'SHIPPED' });

/**
 * What an order makes of credit reserved for it (Order.settleReservedCredit): `confirmed` it now,
 * was `already-confirmed` by it (the answer came again), or has no use for it: `declined`.
 */
export type ReservedCreditSettlement = 'confirmed' | 'already-confirmed' | 'declined';

export interface PlaceOrder {
  id: string;
  customerId: string;
  currency: string;
  lines: OrderLine[];
}

/**
 * PENDING ──confirm──► CONFIRMED ──ship──► SHIPPED
 *    │                     │
 *    ├──reject──► REJECTED └──cancel──► CANCELLED
 *    └──cancel──► CANCELLED
 */
export class Order extends VersionedAggregate<OrderEvent> {
  private state: OrderState;

  get id(): string {
    return this.state.id;
  }

  get status(): OrderStatus {
    return this.state.status;
  }

  static place({ id, customerId, currency, lines }: PlaceOrder, now: Date): Order {
    // The types are checked too: the domain holds its invariants whatever a caller passes.
    if (typeof customerId !== 'string' || customerId.trim().length === 0) throw new InvalidOrderError('an order needs a customer');
    validateCurrency(currency);
    validateLines(lines);
    const order = new Order();
    order.apply(
      new OrderPlacedEvent({
        orderId: id,
        customerId,
        lines: copyLines(lines).map((line) => ({ ...line, sku: line.sku.trim() })),
        total: { amount: lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0), currency },
        placedAt: now.toISOString(),
      }),
    );
    return order;
  }

  static restore(snapshot: OrderSnapshot): Order {
    const order = new Order();
    order.state = stateOf(snapshot);
    order.restoreVersion(snapshot.version);
    return order;
  }

  /** Idempotent: confirming a CONFIRMED order changes nothing. */
  confirm(now: Date): void {
    if (this.state.status === 'CONFIRMED') return;
    if (this.state.status !== 'PENDING') throw new OrderNotPendingError(this.id, this.state.status);
    this.apply(
      new OrderConfirmedEvent({
        orderId: this.id,
        customerId: this.state.customerId,
        total: this.totalAsMoney(),
        confirmedAt: now.toISOString(),
      }),
    );
  }

  /**
   * The customer's credit was reserved for this order (the saga's answer to its OrderPlaced). A
   * PENDING order is confirmed. One confirmed before (and maybe shipped since) was confirmed by
   * this reservation: nothing changes. One decided without it (rejected by its deadline or with
   * the customer's deactivation, cancelled) declines it (OrderCreditDeclined), so that the
   * customer's account gives it back; for an order confirmed and then cancelled, its compensation
   * gave it back already, and giving back is a no-op for the customer's account.
   */
  settleReservedCredit(now: Date): ReservedCreditSettlement {
    const { status } = this.state;
    switch (status) {
      case 'PENDING':
        this.confirm(now);
        return 'confirmed';
      case 'CONFIRMED':
      case 'SHIPPED':
        return 'already-confirmed';
      case 'REJECTED':
      case 'CANCELLED':
        this.apply(new OrderCreditDeclinedEvent({ orderId: this.id, customerId: this.state.customerId, declinedAt: now.toISOString() }));
        return 'declined';
      default:
        return unknownStatus(status);
    }
  }

  /** Idempotent: rejecting a REJECTED order changes nothing. */
  reject(reason: string, now: Date): void {
    const validReason = validateReason(reason);
    if (this.state.status === 'REJECTED') return;
    if (this.state.status !== 'PENDING') throw new OrderNotPendingError(this.id, this.state.status);
    this.apply(
      new OrderRejectedEvent({
        orderId: this.id,
        customerId: this.state.customerId,
        reason: validReason,
        rejectedAt: now.toISOString(),
      }),
    );
  }

  /**
   * Rejects the order if it is still PENDING; one decided meanwhile is left as it is, since the
   * saga, its deadline and the customer race for a pending order and whoever comes second finds
   * it decided. Answers whether it rejected it. InvalidOrderError for a reason that is not 1 to
   * 500 characters, whatever the status.
   */
  rejectIfPending(reason: string, now: Date): boolean {
    validateReason(reason);
    if (this.state.status !== 'PENDING') return false;
    this.reject(reason, now);
    return true;
  }

  cancel(reason: string, now: Date): void {
    const { status } = this.state;
    if (status !== 'PENDING' && status !== 'CONFIRMED') throw new OrderCannotBeCancelledError(this.id, status);
    this.apply(
      new OrderCancelledEvent({
        orderId: this.id,
        customerId: this.state.customerId,
        reason: validateReason(reason),
        previousStatus: status,
        total: this.totalAsMoney(),
        cancelledAt: now.toISOString(),
      }),
    );
  }

  ship(now: Date): void {
    if (this.state.status !== 'CONFIRMED') throw new OrderCannotBeShippedError(this.id, this.state.status);
    this.apply(
      new OrderShippedEvent({
        orderId: this.id,
        customerId: this.state.customerId,
        total: this.totalAsMoney(),
        shippedAt: now.toISOString(),
      }),
    );
  }

  /** The order's total with its currency, as its events carry it. */
  private totalAsMoney(): Money {
    return { amount: this.state.total, currency: this.state.currency };
  }

  snapshot(): OrderSnapshot {
    const { id, customerId, status, currency, lines, total, createdAt, updatedAt } = this.state;
    return {
      id,
      customerId,
      status,
      currency,
      lines: copyLines(lines),
      total,
      rejectionReason: this.state.status === 'REJECTED' ? this.state.rejectionReason : null,
      version: this.version + this.getUncommittedEvents().length,
      createdAt: new Date(createdAt),
      updatedAt: new Date(updatedAt),
    };
  }

  protected onOrderPlacedEvent(event: OrderPlacedEvent): void {
    const at = new Date(event.placedAt);
    this.state = {
      id: event.orderId,
      customerId: event.customerId,
      status: 'PENDING',
      currency: event.total.currency,
      lines: copyLines(event.lines),
      total: event.total.amount,
      createdAt: at,
      updatedAt: at,
    };
  }

  protected onOrderConfirmedEvent(event: OrderConfirmedEvent): void {
    this.state = { ...this.state, status: 'CONFIRMED', updatedAt: new Date(event.confirmedAt) };
  }

  protected onOrderRejectedEvent(event: OrderRejectedEvent): void {
    this.state = {
      ...this.state,
      status: 'REJECTED',
      rejectionReason: event.reason,
      updatedAt: new Date(event.rejectedAt),
    };
  }

  protected onOrderCancelledEvent(event: OrderCancelledEvent): void {
    this.state = { ...this.state, status: 'CANCELLED', updatedAt: new Date(event.cancelledAt) };
  }

  /** The order's state is the same: its account gives the credit back. */
  protected onOrderCreditDeclinedEvent(_event: OrderCreditDeclinedEvent): void {}

  protected onOrderShippedEvent(event: OrderShippedEvent): void {
    this.state = { ...this.state, status: 'SHIPPED', updatedAt: new Date(event.shippedAt) };
  }
}

/** The state a row holds, copied (the caller keeps its row); a REJECTED row carries its reason. */
function stateOf(snapshot: OrderSnapshot): OrderState {
  const { id, customerId, status, currency, total } = snapshot;
  const placed: PlacedOrder = {
    id,
    customerId,
    currency,
    lines: copyLines(snapshot.lines),
    total,
    createdAt: new Date(snapshot.createdAt),
    updatedAt: new Date(snapshot.updatedAt),
  };
  if (status !== 'REJECTED') return { ...placed, status };
  if (snapshot.rejectionReason === null) throw new Error(`order ${id} is REJECTED without a rejection reason`);
  return { ...placed, status, rejectionReason: snapshot.rejectionReason };
}

/** Makes the compiler check that a switch names every status. */
function unknownStatus(status: never): never {
  throw new Error(`unknown order status ${String(status)}`);
}

function copyLines(lines: OrderLine[]): OrderLine[] {
  return lines.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice }));
}

function validateCurrency(currency: string): void {
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new InvalidOrderError('currency must be a 3-letter ISO 4217 code');
}

function validateLines(lines: OrderLine[]): void {
  const { minLines, maxLines, maxQuantity, maxUnitPrice, maxSkuLength } = ORDER_LIMITS;
  if (!Array.isArray(lines) || lines.length < minLines || lines.length > maxLines) {
    throw new InvalidOrderError(`an order has ${minLines} to ${maxLines} lines`);
  }
  for (const line of lines as unknown[]) {
    if (typeof line !== 'object' || line === null || Array.isArray(line)) {
      throw new InvalidOrderError('each line is an object with sku, quantity and unitPrice');
    }
    const { sku, quantity, unitPrice } = line as Partial<Record<keyof OrderLine, unknown>>;
    if (typeof sku !== 'string' || sku.trim().length === 0 || sku.trim().length > maxSkuLength) {
      throw new InvalidOrderError(`a sku has 1 to ${maxSkuLength} characters`);
    }
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1 || quantity > maxQuantity) {
      throw new InvalidOrderError(`quantity must be an integer from 1 to ${maxQuantity}`);
    }
    if (typeof unitPrice !== 'number' || !Number.isInteger(unitPrice) || unitPrice < 0 || unitPrice > maxUnitPrice) {
      throw new InvalidOrderError(`unitPrice must be an integer from 0 to ${maxUnitPrice} minor units`);
    }
  }
}

function validateReason(reason: string): string {
  const trimmed = typeof reason === 'string' ? reason.trim() : '';
  if (trimmed.length === 0 || trimmed.length > ORDER_LIMITS.maxReasonLength) {
    throw new InvalidOrderError(`a reason has 1 to ${ORDER_LIMITS.maxReasonLength} characters`);
  }
  return trimmed;
}
