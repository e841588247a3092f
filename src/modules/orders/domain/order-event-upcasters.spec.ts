import { Order } from './order';
import { orderPlacedV1ToV2 } from './order-event-upcasters';
import { OrderPlacedEvent } from './order.events';

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
