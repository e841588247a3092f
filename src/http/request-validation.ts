import { ArgumentMetadata, BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldError } from './problem-details';
import { checkTypesFirst } from './type-checks-first';
import { cacheValidationRules } from './validation-rules-cache';

/** Carries the failing fields of a request to the problem+json filter. */
export class RequestValidationError extends BadRequestException {
  constructor(readonly fieldErrors: FieldError[]) {
    super('the request is not valid');
  }
}

export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flattenValidationErrors(error.children ?? [], field)];
  });
}

/**
 * Nest's ValidationPipe, plus one rule it misses: a member named like a property of
 * `Object.prototype` (`toString`, `valueOf`, `constructor`…) is refused as unknown. No DTO
 * declares such a name, yet class-transformer skips it while building the DTO (the instance
 * already has a function of that name), so `forbidNonWhitelisted` never sees it and the body
 * was accepted with the member silently dropped.
 */
class RequestValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const inherited = membersNamedLikeObjectProperties(value, '');
      if (inherited.length > 0) throw new RequestValidationError(inherited);
    }
    return super.transform(value, metadata);
  }
}

function membersNamedLikeObjectProperties(value: unknown, parent: string): FieldError[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const field = parent ? `${parent}.${key}` : key;
    const own = key in Object.prototype ? [{ field, message: `property ${key} should not exist` }] : [];
    return [...own, ...membersNamedLikeObjectProperties(child, field)];
  });
}

export function createValidationPipe(): ValidationPipe {
  // Before the cache, so it remembers the reordered rules (either order validates the same).
  checkTypesFirst();
  cacheValidationRules();
  return new RequestValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    // One message per property, its type's first when the type is wrong (checkTypesFirst).
    stopAtFirstError: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
  });
}
