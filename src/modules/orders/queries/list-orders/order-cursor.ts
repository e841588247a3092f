import { DomainError } from '../../../../shared/domain-error';

/** Where a page ended: the (createdAt, id) of its last order, newest first. Opaque to clients. */
export interface OrderCursor {
  createdAt: string;
  id: string;
}

export class InvalidCursorError extends DomainError {
  readonly code = 'INVALID_CURSOR';
  readonly kind = 'invalid';

  constructor() {
    super('the cursor is not one this API returned');
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(cursor: OrderCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

export function decodeCursor(encoded: string): OrderCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as unknown[];
    if (typeof id !== 'string' || !UUID.test(id) || !isInstantWrittenByThisApi(createdAt)) {
      throw new InvalidCursorError();
    }
    return { createdAt: createdAt as string, id };
  } catch {
    throw new InvalidCursorError();
  }
}

/** Exactly the form `toISOString()` gives an order's creation time, which PostgreSQL reads back. */
function isInstantWrittenByThisApi(value: unknown): boolean {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return false;
  const instant = new Date(value);
  return !Number.isNaN(instant.getTime()) && instant.toISOString() === value && instant.getUTCFullYear() >= 1970;
}
