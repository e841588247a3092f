import { fingerprintOf } from './request-fingerprint';

describe('fingerprintOf', () => {
  it('is the same for the same object with its members in another order, at every depth', () => {
    const body = { customerId: 'c', currency: 'EUR', lines: [{ sku: 'A', quantity: 1, unitPrice: 100 }], meta: { a: 1, b: { c: 2, d: 3 } } };
    const reordered = { meta: { b: { d: 3, c: 2 }, a: 1 }, lines: [{ unitPrice: 100, sku: 'A', quantity: 1 }], currency: 'EUR', customerId: 'c' };

    expect(fingerprintOf(reordered)).toBe(fingerprintOf(body));
  });

  it('is the same for numbers JSON spells differently but parses alike', () => {
    expect(fingerprintOf(JSON.parse('{"a": 1.0, "b": 1e2}'))).toBe(fingerprintOf({ a: 1, b: 100 }));
  });

  it.each([
    ['another value', { a: 1, b: 2 }, { a: 1, b: 3 }],
    ['another type', { a: 1 }, { a: '1' }],
    ['another array order', { lines: [1, 2] }, { lines: [2, 1] }],
    ['a member more', { a: 1 }, { a: 1, b: null }],
    ['nesting moved', { a: { b: 1 } }, { a: [{ b: 1 }] }],
  ])('differs for %s', (_case, one, other) => {
    expect(fingerprintOf(one)).not.toBe(fingerprintOf(other));
  });

  it('fingerprints a missing body as null', () => {
    expect(fingerprintOf(undefined)).toBe(fingerprintOf(null));
  });
});
