import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { runId } from '../../shared/run-id';
import type { CommandMetadata } from '../event-metadata';
import { withCommandCause } from '../running-commands';

/** Paths longer than this are cut in the events' metadata (ours are far shorter). */
const MAX_RECORDED_PATH_LENGTH = 256;
/** A request target up to its query (`?`) or fragment (`#`). */
const PATH_OF_URL = /^[^?#]*/;

/**
 * Where an HTTP request enters: the commands its handler sends (and those they send) are caused by
 * the request (requestCauseOf), set once here for the whole handler instead of handed down every
 * command, repository and writer.
 */
@Injectable()
export class RequestCauseInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const cause = requestCauseOf(http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
    return new Observable((subscriber) => withCommandCause(cause, () => next.handle().subscribe(subscriber)));
  }
}

/**
 * The cause of the commands this HTTP request sends, which their events carry: the correlation id
 * (Fastify's request id, see src/http/correlation-id.ts; as causation too), and the request itself
 * (an id of its own, method, path, arrival), which GET /flows draws as the flow's root. The arrival
 * is Fastify's own measure (`reply.elapsedTime`, since its onRequest).
 */
function requestCauseOf(request: FastifyRequest, reply: FastifyReply): CommandMetadata {
  // The path as the router matched it: no query, and no fragment (a raw client may send one, and
  // the router ignores it): either may hold a token, neither belongs in the events.
  const path = PATH_OF_URL.exec(request.url)![0].slice(0, MAX_RECORDED_PATH_LENGTH);
  const receivedAt = new Date(Date.now() - reply.elapsedTime).toISOString();
  return { correlationId: request.id, causationId: request.id, request: { id: runId(), method: request.method, path, receivedAt } };
}
