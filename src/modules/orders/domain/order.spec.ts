import { Order, ORDER_LIMITS, ORDER_STATUSES } from './order';
import type { OrderLine, OrderSnapshot, OrderStatus, PlaceOrder } from './order';
import {
  InvalidOrderError,
  OrderCannotBeCancelledError,
  OrderCannotBeShippedError,
  OrderNotPendingError,
} from './order.errors';
import {
  OrderCancelledEvent,
  OrderConfirmedEvent,
  OrderPlacedEvent,
  OrderRejectedEvent,
  OrderShippedEvent,
} from './order.events';

const ORDER_ID = '5d2a7f0e-3b8c-4f6a-9e21-7c4d1b0a9f02';
const CUSTOMER_ID = '0b6f3c9e-6a1d-4c1e-9a53-2f4b8c7d1e01';
const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-02T12:30:00Z');
const LATER_ISO = '2026-01-02T12:30:00.000Z';

const LINES: OrderLine[] = [
  { sku: 'BOOK-001', quantity: 2, unitPrice: 1_250 },
  { sku: 'PEN-042', quantity: 3, unitPrice: 199 },
];
const TOTAL = 2 * 1_250 + 3 * 199; // 3097

function placement(overrides: Partial<PlaceOrder> = {}): PlaceOrder {
  return { id: ORDER_ID, customerId: CUSTOMER_ID, currency: 'EUR', lines: LINES, ...overrides };
}

function line(overrides: Partial<OrderLine> = {}): OrderLine {
  return { sku: 'BOOK-001', quantity: 1, unitPrice: 1_000, ...overrides };
}

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
    version: 2,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

function orderIn(status: OrderStatus): Order {
  return Order.restore(snapshotOf(status));
}

/** A PENDING order, placed and persisted, with nothing pending. */
function pendingOrder(): Order {
  const order = Order.place(placement(), now);
  order.markPersisted();
  return order;
}

/** A CONFIRMED order, placed, confirmed and persisted, with nothing pending. */
function confirmedOrder(): Order {
  const order = Order.place(placement(), now);
  order.confirm(now);
  order.markPersisted();
  return order;
}

describe('Order', () => {
  describe('place', () => {
    it('raises OrderPlacedEvent with total = sum of quantity * unitPrice', () => {
      // when
      const order = Order.place(placement(), now);

      // then
      const events = order.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(OrderPlacedEvent);
      expect(events[0]).toEqual(
        new OrderPlacedEvent({
          orderId: ORDER_ID,
          customerId: CUSTOMER_ID,
          lines: [
            { sku: 'BOOK-001', quantity: 2, unitPrice: 1_250 },
            { sku: 'PEN-042', quantity: 3, unitPrice: 199 },
          ],
          total: { amount: 3_097, currency: 'EUR' },
          placedAt: '2026-01-01T00:00:00.000Z',
        }),
      );
    });

    it('reaches PENDING at version 0 with one pending event', () => {
      // when
      const order = Order.place(placement(), now);

      // then
      expect(order.id).toBe(ORDER_ID);
      expect(order.status).toBe('PENDING');
      expect(order.version).toBe(0);
      expect(order.snapshot()).toEqual({
        id: ORDER_ID,
        customerId: CUSTOMER_ID,
        status: 'PENDING',
        currency: 'EUR',
        lines: LINES,
        total: 3_097,
        rejectionReason: null,
        version: 1,
        createdAt: now,
        updatedAt: now,
      });
    });

    it('copies the lines: the caller mutating its array later does not change the order', () => {
      // given
      const lines = [line({ quantity: 2 })];

      // when
      const order = Order.place(placement({ lines }), now);
      lines[0].quantity = 9;
      lines.push(line({ sku: 'EXTRA' }));

      // then
      expect(order.snapshot().lines).toEqual([line({ quantity: 2 })]);
      expect(order.getUncommittedEvents()[0]).toMatchObject({ lines: [line({ quantity: 2 })], total: { amount: 2_000, currency: 'EUR' } });
    });

    it('accepts the limits: 100 lines, quantity 10000, unitPrice 0 and the maximum unit price', () => {
      // given
      const lines = Array.from({ length: ORDER_LIMITS.maxLines }, (_, i) =>
        line({ sku: `SKU-${i}`, quantity: 1, unitPrice: i === 0 ? 0 : 10 }),
      );
      lines[1] = line({ sku: 'BULK', quantity: ORDER_LIMITS.maxQuantity, unitPrice: 10 });
      lines[2] = line({ sku: 'LUXURY', quantity: 1, unitPrice: ORDER_LIMITS.maxUnitPrice });

      // when
      const order = Order.place(placement({ lines }), now);

      // then
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
      // when
      const place = () => Order.place(placement({ currency }), now);

      // then
      expect(place).toThrow(InvalidOrderError);
      expect(place).toThrow(expect.objectContaining({ code: 'INVALID_ORDER', kind: 'invalid' }));
    });

    it.each([
      ['no lines', 0],
      ['101 lines', ORDER_LIMITS.maxLines + 1],
    ])('refuses an order with %s', (_case, count) => {
      const lines = Array.from({ length: count }, (_, i) => line({ sku: `SKU-${i}` }));

      const place = () => Order.place(placement({ lines }), now);

      expect(place).toThrow(InvalidOrderError);
      expect(place).toThrow(expect.objectContaining({ code: 'INVALID_ORDER' }));
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
      // given a valid first line and a broken second one
      const lines = [line(), line({ sku: 'SECOND', ...overrides })];

      // when
      const place = () => Order.place(placement({ lines }), now);

      // then
      expect(place).toThrow(InvalidOrderError);
      expect(place).toThrow(expect.objectContaining({ code: 'INVALID_ORDER' }));
    });
  });

  describe('confirm', () => {
    it('confirming a PENDING order raises OrderConfirmedEvent and reaches CONFIRMED', () => {
      // given
      const order = pendingOrder();

      // when
      order.confirm(later);

      // then
      const events = order.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(OrderConfirmedEvent);
      expect(events[0]).toEqual(
        new OrderConfirmedEvent({ orderId: ORDER_ID, customerId: CUSTOMER_ID, total: TOTAL, confirmedAt: LATER_ISO }),
      );
      expect(order.status).toBe('CONFIRMED');
      expect(order.snapshot()).toMatchObject({ status: 'CONFIRMED', version: 2, createdAt: now, updatedAt: later });
    });

    it('confirming a CONFIRMED order is a no-op: no event, state unchanged', () => {
      // given
      const order = confirmedOrder();
      const before = order.snapshot();

      // when
      order.confirm(later);

      // then
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(before);
    });

    it.each<OrderStatus>(['REJECTED', 'CANCELLED', 'SHIPPED'])('confirming a %s order is refused', (status) => {
      // given
      const order = orderIn(status);

      // when
      const confirm = () => order.confirm(later);

      // then
      expect(confirm).toThrow(OrderNotPendingError);
      expect(confirm).toThrow(expect.objectContaining({ code: 'ORDER_NOT_PENDING', kind: 'conflict' }));
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.status).toBe(status);
    });
  });

  describe('settleReservedCredit', () => {
    it('a PENDING order is confirmed by the credit reserved for it: OrderConfirmedEvent, CONFIRMED', () => {
      // given
      const order = pendingOrder();

      // when
      const settlement = order.settleReservedCredit(later);

      // then
      expect(settlement).toBe('confirmed');
      expect(order.getUncommittedEvents()).toEqual([
        new OrderConfirmedEvent({ orderId: ORDER_ID, customerId: CUSTOMER_ID, total: TOTAL, confirmedAt: LATER_ISO }),
      ]);
      expect(order.status).toBe('CONFIRMED');
    });

    it.each<OrderStatus>(['CONFIRMED', 'SHIPPED'])('a %s order was confirmed by it already: nothing changes', (status) => {
      // given
      const order = orderIn(status);

      // when
      const settlement = order.settleReservedCredit(later);

      // then
      expect(settlement).toBe('already-confirmed');
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(snapshotOf(status));
    });

    it.each<OrderStatus>(['REJECTED', 'CANCELLED'])('a %s order gives a late reservation back, raises nothing and stays %s', (status) => {
      // given
      const order = orderIn(status);

      // when
      const settlement = order.settleReservedCredit(later);

      // then
      expect(settlement).toBe('give-back');
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(snapshotOf(status));
    });

    it('a reservation answered twice confirms once, then changes nothing', () => {
      // given
      const order = pendingOrder();
      order.settleReservedCredit(now);
      order.markPersisted();

      // when
      const again = order.settleReservedCredit(later);

      // then
      expect(again).toBe('already-confirmed');
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toMatchObject({ status: 'CONFIRMED', version: 2, updatedAt: now });
    });

    it('has an answer for every status', () => {
      const settlements = Object.fromEntries(ORDER_STATUSES.map((status) => [status, orderIn(status).settleReservedCredit(later)]));
      expect(settlements).toEqual({
        PENDING: 'confirmed',
        CONFIRMED: 'already-confirmed',
        SHIPPED: 'already-confirmed',
        REJECTED: 'give-back',
        CANCELLED: 'give-back',
      });
    });
  });

  describe('reject', () => {
    it('rejecting a PENDING order raises OrderRejectedEvent and records the trimmed reason', () => {
      // given
      const order = pendingOrder();

      // when
      order.reject('  insufficient credit  ', later);

      // then
      const events = order.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(OrderRejectedEvent);
      expect(events[0]).toEqual(
        new OrderRejectedEvent({
          orderId: ORDER_ID,
          customerId: CUSTOMER_ID,
          reason: 'insufficient credit',
          rejectedAt: LATER_ISO,
        }),
      );
      expect(order.status).toBe('REJECTED');
      expect(order.snapshot()).toMatchObject({
        status: 'REJECTED',
        rejectionReason: 'insufficient credit',
        updatedAt: later,
      });
    });

    it('rejecting a REJECTED order is a no-op: no event, the first reason stays', () => {
      // given
      const order = orderIn('REJECTED');

      // when
      order.reject('another reason', later);

      // then
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(snapshotOf('REJECTED'));
    });

    it.each<OrderStatus>(['CONFIRMED', 'CANCELLED', 'SHIPPED'])('rejecting a %s order is refused', (status) => {
      // given
      const order = orderIn(status);

      // when
      const reject = () => order.reject('insufficient credit', later);

      // then
      expect(reject).toThrow(OrderNotPendingError);
      expect(reject).toThrow(expect.objectContaining({ code: 'ORDER_NOT_PENDING' }));
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot().rejectionReason).toBeNull();
    });

    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['longer than 500 characters', 'r'.repeat(ORDER_LIMITS.maxReasonLength + 1)],
    ])('refuses to reject a PENDING order with a reason that is %s', (_case, reason) => {
      // given
      const order = pendingOrder();

      // when
      const reject = () => order.reject(reason, later);

      // then
      expect(reject).toThrow(InvalidOrderError);
      expect(reject).toThrow(expect.objectContaining({ code: 'INVALID_ORDER' }));
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.status).toBe('PENDING');
    });
  });

  describe('cancel', () => {
    it.each<OrderStatus>(['PENDING', 'CONFIRMED'])(
      'cancelling a %s order raises OrderCancelledEvent with that previousStatus',
      (status) => {
        // given
        const order = status === 'PENDING' ? pendingOrder() : confirmedOrder();

        // when
        order.cancel(' customer changed their mind ', later);

        // then
        const events = order.getUncommittedEvents();
        expect(events).toHaveLength(1);
        expect(events[0]).toBeInstanceOf(OrderCancelledEvent);
        expect(events[0]).toEqual(
          new OrderCancelledEvent({
            orderId: ORDER_ID,
            customerId: CUSTOMER_ID,
            reason: 'customer changed their mind',
            previousStatus: status,
            total: TOTAL,
            cancelledAt: LATER_ISO,
          }),
        );
        expect(order.status).toBe('CANCELLED');
        expect(order.snapshot()).toMatchObject({ status: 'CANCELLED', updatedAt: later, rejectionReason: null });
      },
    );

    it.each<OrderStatus>(['SHIPPED', 'REJECTED', 'CANCELLED'])('cancelling a %s order is refused', (status) => {
      // given
      const order = orderIn(status);

      // when
      const cancel = () => order.cancel('customer changed their mind', later);

      // then
      expect(cancel).toThrow(OrderCannotBeCancelledError);
      expect(cancel).toThrow(expect.objectContaining({ code: 'ORDER_NOT_CANCELLABLE', kind: 'conflict' }));
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.status).toBe(status);
    });

    it('refuses to cancel with an empty reason', () => {
      const order = confirmedOrder();

      const cancel = () => order.cancel('  ', later);

      expect(cancel).toThrow(InvalidOrderError);
      expect(cancel).toThrow(expect.objectContaining({ code: 'INVALID_ORDER' }));
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.status).toBe('CONFIRMED');
    });
  });

  describe('ship', () => {
    it('shipping a CONFIRMED order raises OrderShippedEvent and reaches SHIPPED', () => {
      // given
      const order = confirmedOrder();

      // when
      order.ship(later);

      // then
      const events = order.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(OrderShippedEvent);
      expect(events[0]).toEqual(
        new OrderShippedEvent({ orderId: ORDER_ID, customerId: CUSTOMER_ID, total: TOTAL, shippedAt: LATER_ISO }),
      );
      expect(order.status).toBe('SHIPPED');
      expect(order.snapshot()).toMatchObject({ status: 'SHIPPED', version: 3, updatedAt: later });
    });

    it.each<OrderStatus>(['PENDING', 'REJECTED', 'CANCELLED', 'SHIPPED'])(
      'refuses to ship a %s order',
      (status) => {
        // given
        const order = orderIn(status);

        // when
        const ship = () => order.ship(later);

        // then
        expect(ship).toThrow(OrderCannotBeShippedError);
        expect(ship).toThrow(expect.objectContaining({ code: 'ORDER_NOT_SHIPPABLE', kind: 'conflict' }));
        expect(order.getUncommittedEvents()).toHaveLength(0);
        expect(order.status).toBe(status);
      },
    );
  });

  describe('status transition table', () => {
    type Command = 'confirm' | 'reject' | 'cancel' | 'ship';
    const run: Record<Command, (order: Order) => void> = {
      confirm: (order) => order.confirm(later),
      reject: (order) => order.reject('insufficient credit', later),
      cancel: (order) => order.cancel('customer changed their mind', later),
      ship: (order) => order.ship(later),
    };

    type EventClass =
      | typeof OrderConfirmedEvent
      | typeof OrderRejectedEvent
      | typeof OrderCancelledEvent
      | typeof OrderShippedEvent;
    type ErrorClass =
      | typeof OrderNotPendingError
      | typeof OrderCannotBeCancelledError
      | typeof OrderCannotBeShippedError;

    it.each<{ from: OrderStatus; command: Command; raised: EventClass; to: OrderStatus }>([
      { from: 'PENDING', command: 'confirm', raised: OrderConfirmedEvent, to: 'CONFIRMED' },
      { from: 'PENDING', command: 'reject', raised: OrderRejectedEvent, to: 'REJECTED' },
      { from: 'PENDING', command: 'cancel', raised: OrderCancelledEvent, to: 'CANCELLED' },
      { from: 'CONFIRMED', command: 'cancel', raised: OrderCancelledEvent, to: 'CANCELLED' },
      { from: 'CONFIRMED', command: 'ship', raised: OrderShippedEvent, to: 'SHIPPED' },
    ])('given $from, $command raises $raised.name and reaches $to', ({ from, command, raised, to }) => {
      // given
      const order = orderIn(from);

      // when
      run[command](order);

      // then
      const events = order.getUncommittedEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toBeInstanceOf(raised);
      expect(events[0]).toMatchObject({ orderId: ORDER_ID, customerId: CUSTOMER_ID });
      expect(order.status).toBe(to);
      expect(order.snapshot()).toMatchObject({ status: to, version: 3, updatedAt: later });
    });

    it.each<{ from: OrderStatus; command: Command }>([
      { from: 'CONFIRMED', command: 'confirm' },
      { from: 'REJECTED', command: 'reject' },
    ])('given $from, $command is a no-op that raises nothing', ({ from, command }) => {
      // given
      const order = orderIn(from);

      // when
      run[command](order);

      // then
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(snapshotOf(from));
    });

    it.each<{ from: OrderStatus; command: Command; refusal: ErrorClass; code: string }>([
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
      // given
      const order = orderIn(from);

      // when
      const act = () => run[command](order);

      // then
      expect(act).toThrow(refusal);
      expect(act).toThrow(expect.objectContaining({ code }));
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(snapshotOf(from));
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
      const place = () => Order.place({ ...placement(), ...overrides } as unknown as PlaceOrder, now);

      expect(place).toThrow(InvalidOrderError);
    });

    it('refuses a cancel reason that is not a string with InvalidOrderError', () => {
      expect(() => pendingOrder().cancel(['why'] as unknown as string, later)).toThrow(InvalidOrderError);
    });
  });

  describe('version', () => {
    it('markPersisted() advances the version by the pending events and clears them', () => {
      // given
      const order = Order.place(placement(), now);
      order.confirm(later);
      expect(order.snapshot().version).toBe(2);

      // when
      order.markPersisted();

      // then
      expect(order.version).toBe(2);
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toMatchObject({ version: 2, status: 'CONFIRMED' });
    });

    it('restore() keeps the version and the state of the row, with nothing pending', () => {
      // given
      const row = snapshotOf('CONFIRMED', { version: 5, updatedAt: later });

      // when
      const order = Order.restore(row);

      // then
      expect(order.version).toBe(5);
      expect(order.getUncommittedEvents()).toHaveLength(0);
      expect(order.snapshot()).toEqual(row);
    });
  });
});
