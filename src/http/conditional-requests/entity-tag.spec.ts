import { InvalidIfMatchError } from './entity-tag.errors';
import { entityTagOf, expectedVersionOf } from './entity-tag';

describe('entity tags', () => {
  it('writes a stream version as a weak tag', () => {
    expect(entityTagOf(3)).toBe('W/"3"');
  });

  it.each([
    ['W/"3"', 3],
    ['"3"', 3],
    ['W/"0"', 0],
    ['  W/"12"  ', 12],
    ['W/"2147483647"', 2147483647],
  ])('reads If-Match %s as version %s', (header, version) => {
    expect(expectedVersionOf(header)).toBe(version);
  });

  it('expects no particular version without If-Match or with *', () => {
    expect(expectedVersionOf(undefined)).toBeUndefined();
    expect(expectedVersionOf('*')).toBeUndefined();
  });

  it.each(['', ' ', '3', 'W/3', 'w/"3"', '"abc"', '""', '"-1"', '"1.0"', '"01"', '"2147483648"', '"99999999999999999999"', 'W/"1", W/"2"', '*, W/"1"', 'W/ "1"'])(
    'refuses If-Match %p',
    (header) => {
      expect(() => expectedVersionOf(header)).toThrow(InvalidIfMatchError);
    },
  );

  it('refuses the same header sent twice', () => {
    expect(() => expectedVersionOf(['W/"1"', 'W/"2"'])).toThrow(InvalidIfMatchError);
  });
});
