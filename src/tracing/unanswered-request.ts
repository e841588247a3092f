import { SpanStatusCode } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Why a request is left unanswered, as its request span says it. */
export interface Unanswered {
  /** The span's `error.type`: a stable code (`CLIENT_LEFT`). */
  errorType: string;
  /** The span's status message. */
  reason: string;
}

/**
 * Leaves a request unanswered for good (`reply.hijack()`): nothing more of Fastify's lifecycle runs
 * for it and nothing is sent. Every request the app drops goes through here (ESLint refuses
 * `hijack` anywhere else), because its request span has to be ended here: `@fastify/otel` ends
 * that span only as an answer goes out (its `onSend` hook) or a 404's finishes (`onResponse`), so a
 * hijacked request's span would stay open for good, never exported and held in memory. It ends as
 * an error that says why, without `http.response.status_code` (nothing was answered).
 *
 * With tracing off (no `@fastify/otel` on the instance), or for a path it ignores, there is no
 * span: only the hijack.
 */
export function leaveUnanswered(request: FastifyRequest, reply: FastifyReply, { errorType, reason }: Unanswered): void {
  const span = typeof request.opentelemetry === 'function' ? request.opentelemetry().span : undefined;
  if (span?.isRecording()) {
    span.setAttribute('error.type', errorType);
    span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
    span.end();
  }
  reply.hijack();
}
