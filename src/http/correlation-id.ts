import type { FastifyReply, FastifyRequest } from 'fastify';
import { CommandMetadata, runId } from '../event-store';
import { timeOrderedUuid } from '../shared/time-ordered-uuid';

export const CORRELATION_ID_HEADER = 'x-correlation-id';
const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Paths longer than this are cut in the events' metadata (ours are far shorter). */
const MAX_RECORDED_PATH_LENGTH = 256;
/** A request target up to its query (`?`) or fragment (`#`). */
const PATH_OF_URL = /^[^?#]*/;

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

/**
 * The cause of the commands this HTTP request sends, which their events carry: the correlation id
 * (as causation too), and the request itself (an id of its own, method, path, arrival), which GET
 * /flows draws as the flow's root. The arrival is Fastify's own measure (`reply.elapsedTime`, since its onRequest).
 */
export function requestCauseOf(request: FastifyRequest, reply: FastifyReply): CommandMetadata {
  // The path as the router matched it: no query, and no fragment (a raw client may send one, and
  // the router ignores it): either may hold a token, neither belongs in the events.
  const path = PATH_OF_URL.exec(request.url)![0].slice(0, MAX_RECORDED_PATH_LENGTH);
  const receivedAt = new Date(Date.now() - reply.elapsedTime).toISOString();
  return { correlationId: request.id, causationId: request.id, request: { id: runId(), method: request.method, path, receivedAt } };
}
