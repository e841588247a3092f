import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { FieldError } from './problem-details';
import { RequestValidationError } from './request-validation';

// PostgreSQL text and jsonb cannot hold NUL, and JSON with an unpaired UTF-16 surrogate is not
// valid Unicode; such input would otherwise fail deep in a query as a 500.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Refuses, with a 400 naming the field, any string PostgreSQL could not store. */
@Injectable()
export class StorableTextPipe implements PipeTransform {
  transform(value: unknown, { type }: ArgumentMetadata): unknown {
    if (type === 'custom') return value;
    const errors = unstorableTextIn(value, type === 'body' ? '' : type);
    if (errors.length > 0) throw new RequestValidationError(errors);
    return value;
  }
}

/** The fields of parsed JSON `value` holding (or named by) a string PostgreSQL could not store. */
export function unstorableTextIn(value: unknown, path = ''): FieldError[] {
  if (typeof value === 'string') {
    return UNSTORABLE.test(value)
      ? [{ field: path || '(body)', message: 'must not contain NUL characters or unpaired UTF-16 surrogates' }]
      : [];
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => [
    ...(UNSTORABLE.test(key) ? [{ field: path ? `${path}.${key}` : key, message: 'is not a storable name' }] : []),
    ...unstorableTextIn(child, path ? `${path}.${key}` : key),
  ]);
}
