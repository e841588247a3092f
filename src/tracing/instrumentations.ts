import { FastifyOtelInstrumentation } from '@fastify/otel';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';

/** Requests that say nothing about the system's work: no trace for each probe and scrape. */
const PROBE_PATHS = ['/health', '/metrics'];

export function isProbe(url: string | undefined): boolean {
  return url !== undefined && PROBE_PATHS.some((path) => url === path || url.startsWith(`${path}/`) || url.startsWith(`${path}?`));
}

/**
 * The request span and its handler's, on every Fastify instance as it is created (a diagnostics
 * channel, not a module patch: it works wherever Fastify runs). No span per hook: a dozen per
 * request, each a few microseconds, with nothing in them worth seeing.
 */
export function fastifyInstrumentation(): FastifyOtelInstrumentation {
  return new FastifyOtelInstrumentation({ registerOnInitialization: true, instrumentHooks: false, ignorePaths: ({ url }) => isProbe(url) });
}

/**
 * Every instrumentation the processes use, listed one by one (no auto-instrumentation bundle):
 * the HTTP server (and the incoming `traceparent`), Fastify's routes, PostgreSQL statements and
 * RabbitMQ publishes and deliveries (amqplib). Statements count only inside a trace (a request,
 * a command, a step): the readers' polling makes none.
 */
export function instrumentations() {
  return [
    new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => isProbe(request.url) }),
    fastifyInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
    new AmqplibInstrumentation(),
  ];
}
