import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { withCommandCause } from '../event-store';
import { requestCauseOf } from './correlation-id';

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
