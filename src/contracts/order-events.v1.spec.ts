import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { OrderPlacedV1 } from './order-events.v1';

const placed = (lines: unknown) => ({
  orderId: '7d1c3f4e-5a6b-4c8d-9e0f-112233445566',
  customerId: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f00112233',
  currency: 'EUR',
  total: 2500,
  lines,
  placedAt: '2026-11-30T12:00:00.000Z',
});

const failingFields = (data: object) =>
  validateSync(plainToInstance(OrderPlacedV1, data), { forbidUnknownValues: true }).map((error) => error.property);

describe('OrderPlacedV1', () => {
  it('accepts lines of objects', () => {
    expect(failingFields(placed([{ sku: 'BOOK-1', quantity: 2, unitPrice: 1250 }]))).toEqual([]);
  });

  it.each([[[[]]], [[[{ sku: 'BOOK-1', quantity: 2, unitPrice: 1250 }]]], [['BOOK-1']], [[null]], [{ sku: 'BOOK-1' }]])(
    'refuses lines %j that are not a list of objects',
    (lines) => {
      expect(failingFields(placed(lines))).toEqual(['lines']);
    },
  );
});
