import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

const routes = new WeakMap<IncomingMessage, string>();
const waits = new WeakMap<IncomingMessage, number>();

/**
 * Remembers the route pattern Fastify matched for the request (`/orders/:id`), for its log line:
 * the request line sees only the Node request, whose URL carries ids and query strings. Called from an
 * `onRequest` hook (src/http/http-basics.ts); a request no route matched has none.
 */
export function rememberRoute(request: FastifyRequest): void {
  const route = request.routeOptions.url;
  if (route !== undefined) routes.set(request.raw, route);
}

/**
 * Remembers how long admission control made the request wait before it ran (ms), for its request
 * line: its duration includes the wait, which is otherwise not told from a slow answer.
 */
export function rememberWait(request: FastifyRequest, waitedMs: number): void {
  waits.set(request.raw, waitedMs);
}

/** The fields of the one line per HTTP request; the URL itself is left out (ids, query strings). */
interface RequestLine {
  method?: string;
  route?: string;
  /** Unset when no answer went out (the client left first): Node's default 200 would say one did. */
  status?: number;
  durationMs: number;
  /** Of durationMs, the time it waited at the door (admission control); unset when it did not. */
  waitedMs?: number;
}

function requestLine(request: IncomingMessage, response: ServerResponse, durationMs: number): RequestLine {
  return { method: request.method, route: routes.get(request), status: response.headersSent ? response.statusCode : undefined, durationMs, waitedMs: waits.get(request) };
}

function describe({ method, route, status, durationMs, waitedMs }: RequestLine): string {
  const waited = waitedMs === undefined ? '' : ` (${waitedMs} ms of it waiting at the door)`;
  return `${method} ${route ?? '(no route)'} ${status ?? 'unanswered'} in ${durationMs} ms${waited}`;
}

/** The failure of a 5xx that came without an error object: no stack worth logging. */
const isStatusOnlyFailure = (error: Error): boolean => error.message.startsWith('failed with status code ');

/**
 * A 5xx is a warning: its cause, if it is a fault, is logged as an error where it happened
 * (ProblemDetailsFilter). A 503 without an error of its own is not: it is the service saying it is
 * busy or not ready (admission control, /health, an unreachable JWKS), a state whose start and end
 * are logged once as warnings where it is decided (AdmissionControl, the health checks). Logged
 * per request at `warn`, an overload wrote one warning per shed command, thousands a second, when
 * the process had least time for it.
 */
function levelOf(status: number, error: Error | undefined): 'info' | 'warn' {
  if (status === 503 && (!error || isStatusOnlyFailure(error))) return 'info';
  return error || status >= 500 ? 'warn' : 'info';
}

/**
 * Writes the request's one line with `log` when its response is finished or aborted (the first of
 * the response's `finish`, `close` or `error`), `{method, route, status, durationMs, waitedMs}`,
 * at `info` (`warn` for a 5xx but a plain 503, see levelOf); a failure's own error as `err`. No
 * headers, body, cookie or URL. The line, its fields, message and level are those pino-http wrote
 * with the options this project gave it (see request-logging.ts for why it no longer does).
 */
export function logRequestWhenFinished(log: Logger, request: IncomingMessage, response: ServerResponse): void {
  const startedAt = Date.now();
  const finished = (error?: Error) => {
    response.removeListener('close', finished);
    response.removeListener('finish', finished);
    response.removeListener('error', finished);
    const durationMs = Date.now() - startedAt;
    const line = requestLine(request, response, durationMs);
    const level = levelOf(response.statusCode, error);
    if (error || response.statusCode >= 500) {
      const failure = error ?? new Error(`failed with status code ${response.statusCode}`);
      const statusOnly = isStatusOnlyFailure(failure);
      log[level](
        { ...line, ...(statusOnly ? {} : { err: failure }) },
        `${line.method} ${line.route ?? '(no route)'} ${line.status ?? 'unanswered'} failed${statusOnly ? '' : `: ${failure.message}`}`,
      );
      return;
    }
    const message = describe(line);
    log[level](line, response.writableEnded ? message : `${message} (aborted)`);
  };
  response.on('close', finished);
  response.on('finish', finished);
  response.on('error', finished);
}
