import { isBefore } from './checkpoint-range';

describe('checkpoint order', () => {
  it('orders by transaction id first, then position, as numbers', () => {
    expect(isBefore({ transactionId: '9', position: '100' }, { transactionId: '10', position: '1' })).toBe(true);
    expect(isBefore({ transactionId: '10', position: '2' }, { transactionId: '10', position: '10' })).toBe(true);
    expect(isBefore({ transactionId: '10', position: '10' }, { transactionId: '10', position: '10' })).toBe(false);
    expect(isBefore({ transactionId: '11', position: '1' }, { transactionId: '10', position: '99' })).toBe(false);
  });
});
