import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { HttpMetrics } from '../metrics/http-metrics';
import { rememberRoute } from '../logging/request-line';
import { CORRELATION_ID_HEADER, correlationIdOf } from './correlation-id';
import { MAX_JSON_NESTING, nestsDeeperThan } from './json-nesting';
import { ProblemDetailsFilter, sendProblem } from './problem-details.filter';
import { createValidationPipe } from './request-validation';
import { setSecurityHeaders } from './security-headers';
import { StorableTextPipe } from './storable-text.pipe';

export interface HttpServerLimits {
  bodyLimitBytes: number;
  /** Milliseconds a client may take to send a whole request; 0: no limit. */
  requestTimeoutMs: number;
  /** Milliseconds a connection may stay silent before it is closed; 0: never. */
  connectionTimeoutMs: number;
}

/** Node checks request timeouts every 30 s by default; checking at a quarter of the timeout keeps it near what was configured. */
const MAX_TIMEOUT_CHECK_INTERVAL_MS = 30_000;

/** The longest path parameter the router takes (Fastify's maxParamLength); longer ones get 414 problem+json. */
export const MAX_PATH_PARAMETER_LENGTH = 200;

export function createFastifyAdapter({ bodyLimitBytes, requestTimeoutMs, connectionTimeoutMs }: HttpServerLimits): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: bodyLimitBytes,
    // Path parameters up to a subscription id's 200 characters (a correlation id's 128 in
    // GET /flows/{correlationId}); Fastify's default, 100, answers longer ones 414 before any pipe.
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    frameworkErrors: answerUnroutable,
    requestIdHeader: false,
    genReqId: correlationIdOf,
    // A client that sends its request slower than this gets a 408 and the connection closes (slowloris).
    requestTimeout: requestTimeoutMs,
    connectionTimeout: connectionTimeoutMs,
    ...(requestTimeoutMs > 0 && {
      http: {
        connectionsCheckingInterval: Math.max(50, Math.min(MAX_TIMEOUT_CHECK_INTERVAL_MS, Math.floor(requestTimeoutMs / 4))),
        // What Node derives itself when requestTimeout is given at construction (Fastify sets it after):
        // with the headers' 60 s default above requestTimeout, Node never expires a request whose body is slow.
        headersTimeout: Math.min(60_000, requestTimeoutMs),
      },
    }),
  });
}

/**
 * Fastify's answer to a path it cannot route (a malformed percent-escape, a parameter over
 * MAX_PATH_PARAMETER_LENGTH characters): it comes before every hook, so without this it is Fastify's bare
 * JSON without the security headers or the correlation id. The same problem+json as any answer.
 */
function answerUnroutable(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? { status: 414, code: 'URI_TOO_LONG', detail: `a path segment is longer than ${MAX_PATH_PARAMETER_LENGTH} characters` }
      : error.code === 'FST_ERR_BAD_URL'
        ? { status: 400, code: 'BAD_URL', detail: 'the path holds a malformed percent-escape' }
        : { status: 500, code: 'INTERNAL_SERVER_ERROR', detail: 'the request could not be routed' };
  setSecurityHeaders(request.raw, reply.raw, () => {
    void reply.header(CORRELATION_ID_HEADER, request.id);
    sendProblem(reply, request, problem);
  });
}

/** What every HTTP app of this project shares: correlation id, request lines, JSON-only bodies, problem+json, request metrics. */
export function configureHttpBasics(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  app.get(HttpMetrics).register(fastify);
  fastify.addHook('onRequest', async (request, reply) => {
    rememberRoute(request);
    void reply.header(CORRELATION_ID_HEADER, request.id);
    if (hasBody(request.headers) && !isJson(request.headers['content-type'])) {
      sendProblem(reply, request, { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'send the body as application/json' });
      return reply;
    }
  });
  fastify.addHook('preValidation', async (request, reply) => {
    if (!nestsDeeperThan(request.body, MAX_JSON_NESTING)) return;
    sendProblem(reply, request, {
      status: 400,
      code: 'VALIDATION_FAILED',
      detail: `the JSON body nests arrays or objects more than ${MAX_JSON_NESTING} levels deep`,
    });
    return reply;
  });

  app.useGlobalPipes(new StorableTextPipe(), createValidationPipe());
  app.useGlobalFilters(new ProblemDetailsFilter());
  // No enableShutdownHooks(): it re-kills the process with the signal (exit 143/130) after
  // closing; main.ts stops it in order and exits 0 (src/shared/graceful-shutdown.ts).
}

/** Bodies are JSON only; anything else is refused before parsing, whatever parsers Nest registers. */
function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const length = headers['content-length'];
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(contentType: string | string[] | undefined): boolean {
  return typeof contentType === 'string' && /^application\/json\s*(;|$)/i.test(contentType);
}
