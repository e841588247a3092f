import { AggregateSpecification } from '../../../../test/support/aggregate-specification';
import { Order, ORDER_LIMITS, ORDER_STATUSES } from './order';
import type { OrderLine, OrderSnapshot, OrderStatus, PlaceOrder } from './order';
import { InvalidOrderError, OrderCannotBeCancelledError, OrderCannotBeShippedError, OrderNotPendingError } from './order.errors';
import type { OrderEvent } from './order.events';
import {
  ORDER_EVENT_CLASSES,
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderCreditDeclinedEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
} from './order.events';

const ORDER_ID = '5d2a7f0e-3b8c-4f6a-9e21-7c4d1b0a9f02';
const CUSTOMER_ID = '0b6f3c9e-6a1d-4c1e-9a53-2f4b8c7d1e01';
const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-02T12:30:00Z');

const LINES: OrderLine[] = [
  { sku: 'BOOK-001', quantity: 2, unitPrice: 1_250 },
  { sku: 'PEN-042', quantity: 3, unitPrice: 199 },
];
const TOTAL = 2 * 1_250 + 3 * 199; // 3097

const orders = AggregateSpecification.for({ blank: () => new Order(), restore: Order.restore });

function placement(overrides: Partial<PlaceOrder> = {}): PlaceOrder {
  return { id: ORDER_ID, customerId: CUSTOMER_ID, currency: 'EUR', lines: LINES, ...overrides };
}

function line(overrides: Partial<OrderLine> = {}): OrderLine {
  return { sku: 'BOOK-001', quantity: 1, unitPrice: 1_000, ...overrides };
}

const ids = { orderId: ORDER_ID, customerId: CUSTOMER_ID };
const MONEY = { amount: TOTAL, currency: 'EUR' };
const placed = new OrderPlacedEvent({ ...ids, lines: LINES, total: MONEY, placedAt: now.toISOString() });
const confirmed = (at = now) => new OrderConfirmedEvent({ ...ids, total: MONEY, confirmedAt: at.toISOString() });
const rejected = (reason = 'insufficient credit', at = now) => new OrderRejectedEvent({ ...ids, reason, rejectedAt: at.toISOString() });
const cancelled = (previousStatus: OrderStatus, reason = 'customer changed their mind', at = now) =>
  new OrderCancelledEvent({ ...ids, reason, previousStatus, total: MONEY, cancelledAt: at.toISOString() });
const shipped = (at = now) => new OrderShippedEvent({ ...ids, total: MONEY, shippedAt: at.toISOString() });

/** The events that bring an order to each status. */
const HISTORY: Record<OrderStatus, OrderEvent[]> = {
  PENDING: [placed],
  CONFIRMED: [placed, confirmed()],
  REJECTED: [placed, rejected()],
  CANCELLED: [placed, cancelled('PENDING')],
  SHIPPED: [placed, confirmed(), shipped()],
};

/** The row of an order in the given status, as a repository would load it. */
function snapshotOf(status: OrderStatus, overrides: Partial<OrderSnapshot> = {}): OrderSnapshot {
  return {
    id: ORDER_ID,
    customerId: CUSTOMER_ID,
    status,
    currency: 'EUR',
    lines: LINES.map((orderLine) => ({ ...orderLine })),
    total: TOTAL,
    rejectionReason: status === 'REJECTED' ? 'insufficient credit' : null,
    version: HISTORY[status].length,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

describe('Order', () => {
  it.each(ORDER_STATUSES)('the events of a %s order load as its row', (status) => {
    expect(orders.load(...HISTORY[status]).snapshot()).toStrictEqual(snapshotOf(status));
  });

  describe('place', () => {
    it('raises OrderPlacedEvent with total = sum of quantity * unitPrice', () => {
      orders.given().when(() => Order.place(placement(), now)).then(
        new OrderPlacedEvent({ ...ids, lines: LINES, total: { amount: 3_097, currency: 'EUR' }, placedAt: '2026-01-01T00:00:00.000Z' }),
      );
    });

    it('reaches PENDING at version 0 with one pending event', () => {
      const order = Order.place(placement(), now);
      expect(order.id).toBe(ORDER_ID);
      expect(order.status).toBe('PENDING');
      expect(order.version).toBe(0);
      expect(order.snapshot()).toEqual(snapshotOf('PENDING')); // version 1: the placement pending
    });

    it('copies the lines: the caller mutating its array later does not change the order', () => {
      const lines = [line({ quantity: 2 })];
      const order = Order.place(placement({ lines }), now);
      lines[0].quantity = 9;
      lines.push(line({ sku: 'EXTRA' }));
      expect(order.snapshot().lines).toEqual([line({ quantity: 2 })]);
      expect(order.getUncommittedEvents()[0]).toMatchObject({ lines: [line({ quantity: 2 })], total: { amount: 2_000, currency: 'EUR' } });
    });

    it('accepts the limits: 100 lines, quantity 10000, unitPrice 0 and the maximum unit price', () => {
      const lines = Array.from({ length: ORDER_LIMITS.maxLines }, (_, i) => line({ sku: `SKU-${i}`, quantity: 1, unitPrice: i === 0 ? 0 : 10 }));
      lines[1] = line({ sku: 'BULK', quantity: ORDER_LIMITS.maxQuantity, unitPrice: 10 });
      lines[2] = line({ sku: 'LUXURY', quantity: 1, unitPrice: ORDER_LIMITS.maxUnitPrice });
      const order = Order.place(placement({ lines }), now);
      expect(order.snapshot().lines).toHaveLength(100);
      expect(order.snapshot().total).toBe(0 + 10_000 * 10 + 100_000_000 + 97 * 10);
    });

    it.each([
      ['lower-cased', 'eur'],
      ['four letters', 'EURO'],
      ['two letters', 'EU'],
      ['empty', ''],
      ['padded with spaces', ' EUR '],
    ])('refuses a currency that is %s', (_case, currency) => {
      orders.given().when(() => Order.place(placement({ currency }), now)).thenThrows(InvalidOrderError, { code: 'INVALID_ORDER', kind: 'invalid' });
    });

    it.each([['no lines', 0], ['101 lines', ORDER_LIMITS.maxLines + 1]])('refuses an order with %s', (_case, count) => {
      const lines = Array.from({ length: count }, (_, i) => line({ sku: `SKU-${i}` }));
      orders.given().when(() => Order.place(placement({ lines }), now)).thenThrows(InvalidOrderError, { code: 'INVALID_ORDER' });
    });

    it.each<[string, Partial<OrderLine>]>([
      ['a quantity of 0', { quantity: 0 }],
      ['a negative quantity', { quantity: -1 }],
      ['a fractional quantity', { quantity: 1.5 }],
      ['a quantity over 10000', { quantity: ORDER_LIMITS.maxQuantity + 1 }],
      ['a negative unitPrice', { unitPrice: -1 }],
      ['a fractional unitPrice', { unitPrice: 9.99 }],
      ['a unitPrice over the maximum', { unitPrice: ORDER_LIMITS.maxUnitPrice + 1 }],
      ['an empty sku', { sku: '' }],
      ['a blank sku', { sku: '   ' }],
      ['a sku longer than 64 characters', { sku: 'S'.repeat(ORDER_LIMITS.maxSkuLength + 1) }],
    ])('refuses a line with %s', (_case, overrides) => {
      // a valid first line and a broken second one
      const lines = [line(), line({ sku: 'SECOND', ...overrides })];
      orders.given().when(() => Order.place(placement({ lines }), now)).thenThrows(InvalidOrderError, { code: 'INVALID_ORDER' });
    });
  });

  describe('confirm', () => {
    it('confirming a PENDING order raises OrderConfirmedEvent and reaches CONFIRMED', () => {
      const { aggregate } = orders
        .given(placed)
        .when((order) => order.confirm(later))
        .then(confirmed(later))
        .withState({ status: 'CONFIRMED', version: 2, createdAt: now, updatedAt: later });
      expect(aggregate.status).toBe('CONFIRMED');
    });

    it('confirming a CONFIRMED order is a no-op: no event, state unchanged', () => {
      orders.given(...HISTORY.CONFIRMED).when((order) => order.confirm(later)).thenNothingHappened();
    });

    it.each<OrderStatus>(['REJECTED', 'CANCELLED', 'SHIPPED'])('confirming a %s order is refused', (status) => {
      orders.given(...HISTORY[status]).when((order) => order.confirm(later)).thenThrows(OrderNotPendingError, { code: 'ORDER_NOT_PENDING', kind: 'conflict' });
    });
  });

  describe('the total every event carries', () => {
    const yen = { amount: 1_350, currency: 'JPY' };
    const placedInYen = new OrderPlacedEvent({ ...ids, lines: [line({ quantity: 3, unitPrice: 450 })], total: yen, placedAt: now.toISOString() });
    const confirmedInYen = new OrderConfirmedEvent({ ...ids, total: yen, confirmedAt: now.toISOString() });

    it('confirming, shipping and cancelling carry the order’s total as Money in its own currency', () => {
      orders.given(placedInYen).when((order) => order.confirm(later)).then(new OrderConfirmedEvent({ ...ids, total: yen, confirmedAt: later.toISOString() }));
      orders.given(placedInYen, confirmedInYen).when((order) => order.ship(later)).then(new OrderShippedEvent({ ...ids, total: yen, shippedAt: later.toISOString() }));
      orders
        .given(placedInYen, confirmedInYen)
        .when((order) => order.cancel('too late', later))
        .then(new OrderCancelledEvent({ ...ids, reason: 'too late', previousStatus: 'CONFIRMED', total: yen, cancelledAt: later.toISOString() }));
    });

    it('an order restored from its row carries the row’s currency too', () => {
      const order = Order.restore({ ...orders.load(placedInYen, confirmedInYen).snapshot() });
      order.ship(later);
      expect(order.getUncommittedEvents()).toEqual([new OrderShippedEvent({ ...ids, total: yen, shippedAt: later.toISOString() })]);
    });
  });

  describe('settleReservedCredit', () => {
    it('a PENDING order is confirmed by the credit reserved for it: OrderConfirmedEvent, CONFIRMED', () => {
      orders.given(placed).when((order) => order.settleReservedCredit(later)).then(confirmed(later)).returning('confirmed').withState({ status: 'CONFIRMED' });
    });

    it.each<OrderStatus>(['CONFIRMED', 'SHIPPED'])('a %s order was confirmed by it already: nothing changes', (status) => {
      orders.given(...HISTORY[status]).when((order) => order.settleReservedCredit(later)).thenNothingHappened().returning('already-confirmed');
    });

    it.each<OrderStatus>(['REJECTED', 'CANCELLED'])('a %s order declines a late reservation (OrderCreditDeclinedEvent, for its account to give back) and stays %s', (status) => {
      orders
        .given(...HISTORY[status])
        .when((order) => order.settleReservedCredit(later))
        .then(new OrderCreditDeclinedEvent({ ...ids, declinedAt: later.toISOString() }))
        .returning('declined')
        .withState({ status });
    });

    it('a reservation answered twice confirms once, then changes nothing', () => {
      orders
        .given(placed, confirmed())
        .when((order) => order.settleReservedCredit(later))
        .thenNothingHappened()
        .returning('already-confirmed')
        .withState({ status: 'CONFIRMED', version: 2, updatedAt: now });
    });

    it('has an answer for every status', () => {
      const settlements = Object.fromEntries(ORDER_STATUSES.map((status) => [status, orders.load(...HISTORY[status]).settleReservedCredit(later)]));
      expect(settlements).toEqual({
        PENDING: 'confirmed',
        CONFIRMED: 'already-confirmed',
        SHIPPED: 'already-confirmed',
        REJECTED: 'declined',
        CANCELLED: 'declined',
      });
    });
  });

  describe('rejectIfPending', () => {
    it('rejects a PENDING order and answers true', () => {
      orders
        .given(placed)
        .when((order) => order.rejectIfPending('timeout', later))
        .then(rejected('timeout', later))
        .returning(true)
        .withState({ status: 'REJECTED', rejectionReason: 'timeout' });
    });

    it.each<OrderStatus>(['CONFIRMED', 'REJECTED', 'CANCELLED', 'SHIPPED'])('leaves a %s order as it is and answers false (decided first by another)', (status) => {
      orders.given(...HISTORY[status]).when((order) => order.rejectIfPending('timeout', later)).thenNothingHappened().returning(false);
    });

    it('refuses a reason that is not 1 to 500 characters, whatever the status', () => {
      orders.given(...HISTORY.CONFIRMED).when((order) => order.rejectIfPending(' ', later)).thenThrows(InvalidOrderError);
    });
  });

  describe('reject', () => {
    it('rejecting a PENDING order raises OrderRejectedEvent and records the trimmed reason', () => {
      const { aggregate } = orders
        .given(placed)
        .when((order) => order.reject('  insufficient credit  ', later))
        .then(rejected('insufficient credit', later))
        .withState({ status: 'REJECTED', rejectionReason: 'insufficient credit', updatedAt: later });
      expect(aggregate.status).toBe('REJECTED');
    });

    it('rejecting a REJECTED order is a no-op: no event, the first reason stays', () => {
      orders.given(...HISTORY.REJECTED).when((order) => order.reject('another reason', later)).thenNothingHappened();
    });

    it.each<OrderStatus>(['CONFIRMED', 'CANCELLED', 'SHIPPED'])('rejecting a %s order is refused', (status) => {
      orders.given(...HISTORY[status]).when((order) => order.reject('insufficient credit', later)).thenThrows(OrderNotPendingError, { code: 'ORDER_NOT_PENDING' });
    });

    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['longer than 500 characters', 'r'.repeat(ORDER_LIMITS.maxReasonLength + 1)],
    ])('refuses to reject a PENDING order with a reason that is %s', (_case, reason) => {
      orders.given(placed).when((order) => order.reject(reason, later)).thenThrows(InvalidOrderError, { code: 'INVALID_ORDER' });
    });
  });

  describe('cancel', () => {
    it.each<OrderStatus>(['PENDING', 'CONFIRMED'])('cancelling a %s order raises OrderCancelledEvent with that previousStatus', (status) => {
      const { aggregate } = orders
        .given(...HISTORY[status])
        .when((order) => order.cancel(' customer changed their mind ', later))
        .then(cancelled(status, 'customer changed their mind', later))
        .withState({ status: 'CANCELLED', updatedAt: later, rejectionReason: null });
      expect(aggregate.status).toBe('CANCELLED');
    });

    it.each<OrderStatus>(['SHIPPED', 'REJECTED', 'CANCELLED'])('cancelling a %s order is refused', (status) => {
      orders
        .given(...HISTORY[status])
        .when((order) => order.cancel('customer changed their mind', later))
        .thenThrows(OrderCannotBeCancelledError, { code: 'ORDER_NOT_CANCELLABLE', kind: 'conflict' });
    });

    it('refuses to cancel with an empty reason', () => {
      orders.given(...HISTORY.CONFIRMED).when((order) => order.cancel('  ', later)).thenThrows(InvalidOrderError, { code: 'INVALID_ORDER' });
    });
  });

  describe('ship', () => {
    it('shipping a CONFIRMED order raises OrderShippedEvent and reaches SHIPPED', () => {
      const { aggregate } = orders
        .given(...HISTORY.CONFIRMED)
        .when((order) => order.ship(later))
        .then(shipped(later))
        .withState({ status: 'SHIPPED', version: 3, updatedAt: later });
      expect(aggregate.status).toBe('SHIPPED');
    });

    it.each<OrderStatus>(['PENDING', 'REJECTED', 'CANCELLED', 'SHIPPED'])('refuses to ship a %s order', (status) => {
      orders.given(...HISTORY[status]).when((order) => order.ship(later)).thenThrows(OrderCannotBeShippedError, { code: 'ORDER_NOT_SHIPPABLE', kind: 'conflict' });
    });
  });

  describe('status transition table', () => {
    type Command = 'confirm' | 'reject' | 'cancel' | 'ship';
    const run: Record<Command, (order: Order) => void> = {
      confirm: (order) => order.confirm(later),
      reject: (order) => order.reject('insufficient credit', later),
      cancel: (order) => order.cancel('customer changed their mind', later),
      ship: (order) => order.ship(later),
    };

    const raisedBy: Record<Command, (from: OrderStatus) => OrderEvent> = {
      confirm: () => confirmed(later),
      reject: () => rejected('insufficient credit', later),
      cancel: (from) => cancelled(from, 'customer changed their mind', later),
      ship: () => shipped(later),
    };

    it.each<{ from: OrderStatus; command: Command; raised: (typeof ORDER_EVENT_CLASSES)[number]; to: OrderStatus }>([
      { from: 'PENDING', command: 'confirm', raised: OrderConfirmedEvent, to: 'CONFIRMED' },
      { from: 'PENDING', command: 'reject', raised: OrderRejectedEvent, to: 'REJECTED' },
      { from: 'PENDING', command: 'cancel', raised: OrderCancelledEvent, to: 'CANCELLED' },
      { from: 'CONFIRMED', command: 'cancel', raised: OrderCancelledEvent, to: 'CANCELLED' },
      { from: 'CONFIRMED', command: 'ship', raised: OrderShippedEvent, to: 'SHIPPED' },
    ])('given $from, $command raises $raised.name and reaches $to', ({ from, command, raised, to }) => {
      const event = raisedBy[command](from);
      expect(event).toBeInstanceOf(raised);
      const { aggregate } = orders.given(...HISTORY[from]).when(run[command]).then(event).withState({ status: to, version: HISTORY[from].length + 1, updatedAt: later });
      expect(aggregate.status).toBe(to);
    });

    it.each<{ from: OrderStatus; command: Command }>([
      { from: 'CONFIRMED', command: 'confirm' },
      { from: 'REJECTED', command: 'reject' },
    ])('given $from, $command is a no-op that raises nothing', ({ from, command }) => {
      orders.given(...HISTORY[from]).when(run[command]).thenNothingHappened();
    });

    it.each<{ from: OrderStatus; command: Command; refusal: typeof OrderNotPendingError | typeof OrderCannotBeCancelledError | typeof OrderCannotBeShippedError; code: string }>([
      { from: 'PENDING', command: 'ship', refusal: OrderCannotBeShippedError, code: 'ORDER_NOT_SHIPPABLE' },
      { from: 'CONFIRMED', command: 'reject', refusal: OrderNotPendingError, code: 'ORDER_NOT_PENDING' },
      { from: 'REJECTED', command: 'confirm', refusal: OrderNotPendingError, code: 'ORDER_NOT_PENDING' },
      { from: 'REJECTED', command: 'cancel', refusal: OrderCannotBeCancelledError, code: 'ORDER_NOT_CANCELLABLE' },
      { from: 'REJECTED', command: 'ship', refusal: OrderCannotBeShippedError, code: 'ORDER_NOT_SHIPPABLE' },
      { from: 'CANCELLED', command: 'confirm', refusal: OrderNotPendingError, code: 'ORDER_NOT_PENDING' },
      { from: 'CANCELLED', command: 'reject', refusal: OrderNotPendingError, code: 'ORDER_NOT_PENDING' },
      { from: 'CANCELLED', command: 'cancel', refusal: OrderCannotBeCancelledError, code: 'ORDER_NOT_CANCELLABLE' },
      { from: 'CANCELLED', command: 'ship', refusal: OrderCannotBeShippedError, code: 'ORDER_NOT_SHIPPABLE' },
      { from: 'SHIPPED', command: 'confirm', refusal: OrderNotPendingError, code: 'ORDER_NOT_PENDING' },
      { from: 'SHIPPED', command: 'reject', refusal: OrderNotPendingError, code: 'ORDER_NOT_PENDING' },
      { from: 'SHIPPED', command: 'cancel', refusal: OrderCannotBeCancelledError, code: 'ORDER_NOT_CANCELLABLE' },
      { from: 'SHIPPED', command: 'ship', refusal: OrderCannotBeShippedError, code: 'ORDER_NOT_SHIPPABLE' },
    ])('given $from, $command is refused with $refusal.name ($code)', ({ from, command, refusal, code }) => {
      orders.given(...HISTORY[from]).when(run[command]).thenThrows(refusal, { code });
    });
  });

  describe('isolation of its state', () => {
    it('hands out snapshots whose lines cannot change the order or its pending event', () => {
      const order = Order.place(placement(), now);
      order.snapshot().lines[0].quantity = 99;
      expect(order.snapshot().lines).toEqual(LINES);
      expect((order.getUncommittedEvents()[0] as OrderPlacedEvent).lines).toEqual(LINES);
    });

    it('copies the row it is restored from', () => {
      const row = snapshotOf('PENDING');
      const order = Order.restore(row);
      row.lines.push(line({ sku: 'INTRUDER' }));
      row.updatedAt.setFullYear(1999);
      expect(order.snapshot().lines).not.toContainEqual(expect.objectContaining({ sku: 'INTRUDER' }));
      expect(order.snapshot().updatedAt.getFullYear()).not.toBe(1999);
    });

    it('stores a sku trimmed', () => {
      const order = Order.place(placement({ lines: [line({ sku: '  SKU-9  ' })] }), now);
      expect(order.snapshot().lines[0].sku).toBe('SKU-9');
    });

    it('refuses an order without a customer', () => {
      expect(() => Order.place(placement({ customerId: ' ' }), now)).toThrow(InvalidOrderError);
    });

    // Input that slipped past HTTP validation must meet a domain error, never a TypeError (a 500).
    it.each<[string, Record<string, unknown>]>([
      ['a line that is an empty array', { lines: [[]] }],
      ['a line that is an array of lines', { lines: [[{ sku: 'SKU-1', quantity: 1, unitPrice: 1 }]] }],
      ['a line that is null', { lines: [null] }],
      ['a line that is a string', { lines: ['SKU-1'] }],
      ['a sku that is a number', { lines: [{ sku: 42, quantity: 1, unitPrice: 1 }] }],
      ['a quantity that is a string', { lines: [{ sku: 'SKU-1', quantity: '1', unitPrice: 1 }] }],
      ['lines that are an object', { lines: { 0: { sku: 'SKU-1', quantity: 1, unitPrice: 1 } } }],
      ['a customerId that is a number', { customerId: 42 }],
      ['a currency that is an array', { currency: ['EUR'] }],
    ])('refuses %s with InvalidOrderError', (_case, overrides) => {
      expect(() => Order.place({ ...placement(), ...overrides } as unknown as PlaceOrder, now)).toThrow(InvalidOrderError);
    });

    it('refuses a cancel reason that is not a string with InvalidOrderError', () => {
      orders.given(placed).when((order) => order.cancel(['why'] as unknown as string, later)).thenThrows(InvalidOrderError);
    });
  });

  describe('version', () => {
    it('markPersisted() advances the version by the pending events and clears them', () => {
      const order = Order.place(placement(), now);
      order.confirm(later);
      expect(order.snapshot().version).toBe(2);
      order.markPersisted();
      expect(order.version).toBe(2);
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toMatchObject({ version: 2, status: 'CONFIRMED' });
    });

    it('restore() keeps the version and the state of the row, with nothing pending', () => {
      const row = snapshotOf('CONFIRMED', { version: 5, updatedAt: later });
      const order = Order.restore(row);
      expect(order.version).toBe(5);
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(row);
    });
  });
});
