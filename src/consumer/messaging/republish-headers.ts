import { CLOUD_EVENTS_PROPERTY_PREFIX } from '../../contracts';
import { ORIGINAL_ROUTING_KEY_HEADER } from '../../messaging/message-headers';

/** Set on a republished message whose own headers could not be written again: what was left out and why. */
export const DROPPED_HEADERS_HEADER = 'x-dropped-headers';

/** The longest text header the fallback keeps. */
const MAX_KEPT_TEXT = 256;
/** At most this many of the message's headers are kept by the fallback: with MAX_KEPT_TEXT, far below amqplib's 64 KiB table buffer. */
const MAX_KEPT_HEADERS = 64;

/**
 * A count the consumer keeps in a header (`x-attempts`, `x-reorder-waits`): the value when it is
 * a non-negative safe integer, else 0. A publisher may send anything under these names; a count
 * read as NaN neither ends the reorder waits nor can be written back (amqplib throws on it).
 */
export function countHeader(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

/** The routing key a message was first published with: the one kept in its header when that is a routing key (text of at most 255 bytes), else `routingKey`. */
export function originalRoutingKey(headers: Readonly<Record<string, unknown>> | undefined, routingKey: string): string {
  const kept = headers?.[ORIGINAL_ROUTING_KEY_HEADER];
  return typeof kept === 'string' && Buffer.byteLength(kept) <= 255 ? kept : routingKey;
}

/** An AMQP timestamp amqplib can write back (a whole number of seconds it read exactly), else undefined. */
export function writableTimestamp(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * The part of a message's headers a republish keeps when amqplib cannot write the headers as it
 * read them: a field table `{"!": …}` it takes for its own typed-value notation, numbers it reads
 * in one width and writes in a wider one, or a table that the consumer's own headers push past its
 * 64 KiB encoding buffer (RabbitMQ takes headers up to its frame size, 128 KiB). Kept: the
 * headers whose value is short text, a number amqplib writes back or a boolean,
 * at most MAX_KEPT_HEADERS (`cloudEvents:` first); DROPPED_HEADERS_HEADER names the rest. The body is the whole
 * CloudEvent (structured mode), so nothing the consumer needs is lost.
 */
export function writableHeaders(headers: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  const dropped: string[] = [];
  const entries = Object.entries(headers ?? {}).sort(([a], [b]) => Number(!a.startsWith(CLOUD_EVENTS_PROPERTY_PREFIX)) - Number(!b.startsWith(CLOUD_EVENTS_PROPERTY_PREFIX)));
  for (const [name, value] of entries) {
    const plain = (typeof value === 'string' && value.length <= MAX_KEPT_TEXT) || isWritableNumber(value) || typeof value === 'boolean';
    if (plain && Object.keys(kept).length < MAX_KEPT_HEADERS && Buffer.byteLength(name) <= 255) kept[name] = value;
    else dropped.push(name);
  }
  if (dropped.length > 0) {
    const names = dropped.map((name) => name.slice(0, 64)).join(', ');
    kept[DROPPED_HEADERS_HEADER] = `${dropped.length} header(s) the consumer could not write again: ${names.length > 512 ? `${names.slice(0, 512)}…` : names}`;
  }
  return kept;
}

/** A number amqplib writes back: it writes an integer from 2^50 up as a signed 64-bit one and throws past that range. */
function isWritableNumber(value: unknown): boolean {
  return typeof value === 'number' && (Number.isSafeInteger(value) || (Number.isFinite(value) && Math.abs(value) < 2 ** 50));
}
