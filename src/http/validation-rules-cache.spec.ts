import { plainToInstance } from 'class-transformer';
import { IsInt, IsString, Length, Min, registerDecorator, validateSync } from 'class-validator';
import { NestedObjectArray } from './nested-request';
import { cacheValidationRules } from './validation-rules-cache';

class Line {
  @IsString()
  @Length(1, 8)
  sku: string;

  @IsInt()
  @Min(1)
  quantity: number;
}

class Basket {
  @NestedObjectArray(() => Line)
  lines: Line[];
}

class GiftBasket extends Basket {
  @IsString()
  note: string;
}

const options = { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true };
const problemsOf = <T extends object>(type: new () => T, plain: object) =>
  validateSync(plainToInstance(type, plain), options).map(({ property, constraints, children }) => ({ property, constraints, children: children?.length }));

describe('validation rules, remembered per class', () => {
  const valid = { lines: [{ sku: 'A-1', quantity: 2 }] };
  const invalid = { lines: [{ sku: '', quantity: 0 }], extra: true };
  const before = { valid: problemsOf(Basket, valid), invalid: problemsOf(Basket, invalid), gift: problemsOf(GiftBasket, { ...invalid, note: 3 }) };

  beforeAll(() => cacheValidationRules());

  it('validate as before, nested and inherited rules included, however often', () => {
    for (let i = 0; i < 3; i++) {
      expect(problemsOf(Basket, valid)).toEqual(before.valid);
      expect(problemsOf(Basket, invalid)).toEqual(before.invalid);
      expect(problemsOf(GiftBasket, { ...invalid, note: 3 })).toEqual(before.gift);
    }
    expect(before.valid).toEqual([]);
    expect(before.gift.map(({ property }) => property).sort()).toEqual(['extra', 'lines', 'note']);
  });

  it('follow a rule added to a class after it was validated', () => {
    class Coupon {
      @IsString()
      code: string;
    }
    expect(problemsOf(Coupon, { code: 'SPRING' })).toEqual([]);
    registerDecorator({
      name: 'isUpperCase',
      target: Coupon,
      propertyName: 'code',
      validator: { validate: (value: unknown) => typeof value === 'string' && value === value.toUpperCase() },
    });
    expect(problemsOf(Coupon, { code: 'spring' })).toEqual([expect.objectContaining({ property: 'code' })]);
  });
});
