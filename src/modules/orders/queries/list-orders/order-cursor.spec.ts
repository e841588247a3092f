import { decodeCursor, encodeCursor, InvalidCursorError } from './order-cursor';

const id = '3c1b6d4e-9f0a-4b2c-8d7e-6a5f4e3d2c1b';
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('order cursor', () => {
  it('decodes what it encoded', () => {
    const cursor = { createdAt: '2026-11-23T06:25:03.875Z', id };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each([
    ['not base64 JSON', 'zzz'],
    ['a JSON object instead of a pair', encode({ createdAt: '2026-11-23T06:25:03.875Z', id })],
    ['an id that is no uuid', encode(['2026-11-23T06:25:03.875Z', 'x'])],
    ['a date PostgreSQL cannot read', encode(['1', id])],
    ['a date beyond year 9999', encode(['+275760-09-13T00:00:00.000Z', id])],
    ['an impossible calendar date', encode(['2026-02-30T00:00:00.000Z', id])],
    ['a date before 1970', encode(['0000-01-01T00:00:00.000Z', id])],
    ['a date without milliseconds', encode(['2026-11-23T06:25:03Z', id])],
  ])('refuses %s', (_, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(InvalidCursorError);
  });
});
