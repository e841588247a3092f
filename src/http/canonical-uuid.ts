import { applyDecorators, ArgumentMetadata, Injectable, ParseUUIDPipe } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsUUID, type ValidationOptions } from 'class-validator';

/**
 * Ids from requests in their canonical form: lowercase (RFC 9562 §4, "output as lowercase").
 * PostgreSQL compares `uuid` values whatever their case, but an id also travels as text: in
 * event payloads, as a reaction's partition key, in logs and `Location` headers. An uppercase
 * `customerId` accepted as sent put the customer's orders in a partition of their own, apart from
 * the customer's other events, so the saga no longer took them one at a time in commit order.
 * Every id a request carries enters through one of these two (eslint refuses `IsUUID` and
 * `ParseUUIDPipe` elsewhere).
 */
@Injectable()
export class CanonicalUuidPipe extends ParseUUIDPipe {
  constructor() {
    // Any version: ids are UUIDv7 now, v4 before, and a client's own may be either.
    super({ version: undefined });
  }

  override async transform(value: string, metadata: ArgumentMetadata): Promise<string> {
    // Never optional here: ParseUUIDPipe has refused anything but a UUID string.
    return (await super.transform(value, metadata))!.toLowerCase();
  }
}

/** A body or query property that is a UUID (any version), lowercased before it is validated and used. */
export function CanonicalUuid(validationOptions?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => lowercased(value)),
    IsUUID('all', validationOptions),
  );
}

function lowercased(value: unknown): unknown {
  if (typeof value === 'string') return value.toLowerCase();
  if (Array.isArray(value)) return value.map(lowercased);
  return value;
}
