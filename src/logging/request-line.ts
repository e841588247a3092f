import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Options } from 'pino-http';

const routes = new WeakMap<IncomingMessage, string>();

/**
 * Remembers the route pattern Fastify matched for the request (`/orders/:id`), for its log line:
 * pino-http sees only the Node request, whose URL carries ids and query strings. Called from an
 * `onRequest` hook (src/http/http-basics.ts); a request no route matched has none.
 */
export function rememberRoute(request: FastifyRequest): void {
  const route = request.routeOptions.url;
  if (route !== undefined) routes.set(request.raw, route);
}

/** The fields of the one line per HTTP request; the URL itself is left out (ids, query strings). */
interface RequestLine {
  method?: string;
  route?: string;
  status: number;
  durationMs: number;
}

function requestLine(request: IncomingMessage, response: ServerResponse, durationMs: number): RequestLine {
  return { method: request.method, route: routes.get(request), status: response.statusCode, durationMs };
}

function describe({ method, route, status, durationMs }: RequestLine): string {
  return `${method} ${route ?? '(no route)'} ${status} in ${durationMs} ms`;
}

/** pino-http's own failure for a 5xx without an error object: no stack worth logging. */
const isStatusOnlyFailure = (error: Error): boolean => error.message.startsWith('failed with status code ');

/**
 * pino-http's part of the logger (nestjs-pino mounts it as middleware on every route): one line
 * per request when its response is finished or aborted, `{method, route, status, durationMs}`,
 * at `info` (`warn` for a 5xx). No headers, body, cookie or URL. Every line logged while the
 * request is handled carries only `correlationId`, the request id Fastify took from
 * `X-Correlation-Id` or generated (src/http/correlation-id.ts).
 */
export const requestLineOptions: Options = {
  quietReqLogger: true,
  quietResLogger: true,
  customAttributeKeys: { reqId: 'correlationId', responseTime: 'durationMs' },
  // A 5xx is a warning here: its cause, if it is a fault, is logged as an error where it happened
  // (ProblemDetailsFilter), and a 503 of admission control or /health is no fault of the request.
  customLogLevel: (_request, response, error) => (error || response.statusCode >= 500 ? 'warn' : 'info'),
  customSuccessObject: (request, response, value) => requestLine(request, response, (value as { durationMs: number }).durationMs),
  customSuccessMessage: (request, response, durationMs) => {
    const line = describe(requestLine(request, response, durationMs));
    return response.writableEnded ? line : `${line} (aborted)`;
  },
  customErrorObject: (request, response, error, value) => ({
    ...requestLine(request, response, (value as { durationMs: number }).durationMs),
    ...(isStatusOnlyFailure(error) ? {} : { err: error }),
  }),
  customErrorMessage: (request, response, error) => {
    const { method, route, status } = requestLine(request, response, 0);
    return `${method} ${route ?? '(no route)'} ${status} failed${isStatusOnlyFailure(error) ? '' : `: ${error.message}`}`;
  },
};
