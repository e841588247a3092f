import { applyDecorators } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsArray, IsObject, ValidateNested } from 'class-validator';

type RequestClass = new (...args: never[]) => object;

/**
 * The only way a request DTO declares a nested DTO. class-validator's `@ValidateNested` alone
 * validates an ARRAY found where an object belongs as if it were a list of such objects, so
 * `"lines": [[]]` or `[[{…}]]` passed validation and reached the domain as a line with no sku
 * (a known, still open limitation: typestack/class-validator#1597, #2264, #2480).
 * These decorators add the missing rule, in one place for every nested property: the value (or
 * each element) must be a JSON object, not an array, a primitive or null; anything else is a 400
 * naming the property.
 */
export function NestedObject(type: () => RequestClass): PropertyDecorator {
  return applyDecorators(IsObject({ message: '$property must be a JSON object' }), ValidateNested(), Type(type));
}

/** A JSON array whose every element is a JSON object validated as `type` (see `NestedObject`). */
export function NestedObjectArray(type: () => RequestClass): PropertyDecorator {
  return applyDecorators(
    IsArray(),
    IsObject({ each: true, message: 'each element of $property must be a JSON object' }),
    ValidateNested({ each: true }),
    Type(type),
  );
}
