import { timeOrderedUuid } from '../shared/time-ordered-uuid';

export const CORRELATION_ID_HEADER = 'x-correlation-id';
const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Whether `value` could be a correlation id: what `X-Correlation-Id` may carry (1 to 128 of `A-Za-z0-9._:-`). */
export function isCorrelationId(value: string): boolean {
  return SAFE_CORRELATION_ID.test(value);
}

/**
 * Fastify's request id IS the correlation id: taken from `X-Correlation-Id` when it is a sane
 * token, generated otherwise (an unsafe header is replaced, never stored or echoed). A generated
 * one is a UUIDv7, time-ordered like the event ids: the index that finds a flow's events by it
 * (GET /flows/{correlationId}) grows at its right edge instead of on random pages.
 */
export function correlationIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers[CORRELATION_ID_HEADER];
  return typeof header === 'string' && isCorrelationId(header) ? header : timeOrderedUuid();
}

