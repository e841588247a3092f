import { randomUUID } from 'node:crypto';
import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CommandMetadata } from '../event-store/event-metadata';

export const CORRELATION_ID_HEADER = 'x-correlation-id';
const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's request id IS the correlation id: taken from `X-Correlation-Id` when it is a sane
 * token, generated otherwise (an unsafe header is replaced, never stored or echoed).
 */
export function correlationIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const header = request.headers[CORRELATION_ID_HEADER];
  return typeof header === 'string' && SAFE_CORRELATION_ID.test(header) ? header : randomUUID();
}

/** The metadata a command from this HTTP request carries into its events. */
export const RequestMetadata = createParamDecorator((_: unknown, context: ExecutionContext): CommandMetadata => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  return { correlationId: request.id, causationId: request.id };
});
