import { EventStoreManifests, type StoredEvent, UnreadableEventVersionError } from '../../../event-store';
import { EVENT_STORE_MANIFESTS } from '../../manifests';
import { Order } from './order';
import { ORDER_EVENT_UPCASTERS, ORDER_TOTALS_AS_MONEY, orderPlacedV1ToV2 } from './order-event-upcasters';
import { OrderCancelledEvent, OrderConfirmedEvent, OrderPlacedEvent, OrderShippedEvent } from './order.events';

/** OrderPlaced as schema version 1 stored it (written by the code before Money). */
const V1_PAYLOAD = {
  orderId: '9d7f2c1e-0000-4000-8000-000000000001',
  customerId: '9d7f2c1e-0000-4000-8000-000000000002',
  currency: 'JPY',
  lines: [{ sku: 'TEA-1', quantity: 3, unitPrice: 450 }],
  total: 1_350,
  placedAt: '2026-01-01T00:00:00.000Z',
};

describe('orderPlacedV1ToV2', () => {
  it('moves the currency into total as Money and keeps every other field', () => {
    // when
    const v2 = orderPlacedV1ToV2.upcast(V1_PAYLOAD);

    // then
    expect(v2).toEqual({
      orderId: V1_PAYLOAD.orderId,
      customerId: V1_PAYLOAD.customerId,
      lines: V1_PAYLOAD.lines,
      total: { amount: 1_350, currency: 'JPY' },
      placedAt: V1_PAYLOAD.placedAt,
    });
  });

  it('yields the shape the current code writes', () => {
    // given
    const written = Order.place(
      { id: V1_PAYLOAD.orderId, customerId: V1_PAYLOAD.customerId, currency: 'JPY', lines: V1_PAYLOAD.lines },
      new Date(V1_PAYLOAD.placedAt),
    ).getUncommittedEvents()[0];

    // then
    expect(OrderPlacedEvent.schemaVersion).toBe(orderPlacedV1ToV2.fromVersion + 1);
    expect(orderPlacedV1ToV2.upcast(V1_PAYLOAD)).toEqual({ ...written });
  });
});

describe('OrderConfirmed, OrderCancelled and OrderShipped v1', () => {
  const upcasters = new EventStoreManifests(EVENT_STORE_MANIFESTS).eventUpcasters();
  const v1 = (eventType: string): StoredEvent => ({
    position: '7',
    globalPosition: '9',
    eventId: 'e1',
    streamType: 'Order',
    streamId: V1_PAYLOAD.orderId,
    streamVersion: 2,
    eventType,
    schemaVersion: 1,
    payload: { orderId: V1_PAYLOAD.orderId, customerId: V1_PAYLOAD.customerId, total: 1_350 },
    metadata: { correlationId: 'c', causationId: 'c', occurredAt: V1_PAYLOAD.placedAt },
    recordedAt: new Date(V1_PAYLOAD.placedAt),
  });

  it('are written at v2 now, and no upcaster reads v1 (the migration rewrote the stored rows)', () => {
    for (const eventClass of [OrderConfirmedEvent, OrderCancelledEvent, OrderShippedEvent]) {
      expect(ORDER_TOTALS_AS_MONEY).toContain(eventClass.type);
      expect(eventClass.schemaVersion).toBe(2);
      expect(ORDER_EVENT_UPCASTERS.filter(({ eventType }) => eventType === eventClass.type)).toEqual([]);
    }
  });

  it.each(ORDER_TOTALS_AS_MONEY)('a %s v1 row read by the app’s registry is refused, not passed on with a bare total', (eventType) => {
    expect(() => upcasters.upcast(v1(eventType))).toThrow(UnreadableEventVersionError);
    expect(upcasters.upcast({ ...v1(eventType), schemaVersion: 2, payload: { total: { amount: 1_350, currency: 'JPY' } } }).payload).toEqual({
      total: { amount: 1_350, currency: 'JPY' },
    });
  });
});
