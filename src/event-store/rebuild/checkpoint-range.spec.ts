import { isBefore } from './checkpoint-range';

describe('checkpoint order', () => {
  it('orders by global position, as numbers', () => {
    expect(isBefore({ globalPosition: '9' }, { globalPosition: '10' })).toBe(true);
    expect(isBefore({ globalPosition: '10' }, { globalPosition: '10' })).toBe(false);
    expect(isBefore({ globalPosition: '11' }, { globalPosition: '9' })).toBe(false);
    expect(isBefore({ globalPosition: '9007199254740993' }, { globalPosition: '9007199254740994' })).toBe(true);
  });
});
