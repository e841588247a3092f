import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PinoLogger } from 'nestjs-pino';
import { logRequestWhenFinished } from './request-line';

/**
 * Every HTTP request's logging, from the first `onRequest` hook: the lines written while it is
 * handled carry its `correlationId` (nestjs-pino's request context, a child of the process's
 * logger), and its one request line is written when the response is finished or aborted
 * (request-line.ts). Call before any other hook is added, so that a request answered by an earlier
 * hook (a CORS preflight, a 415, a shed command) has its line too.
 *
 * nestjs-pino would do the same as middleware (pino-http), which Nest mounts through
 * @fastify/middie: about 0.1 ms of CPU per request more for its route matching, URL
 * normalisation and a second child logger no line uses (README, "Where the time goes").
 */
export function logEveryRequest(app: NestFastifyApplication): void {
  // The process's root logger, built by useProcessLogger before the app (one per process).
  const loggers = new PinoLogger({});
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      loggers.runInContext(
        () => {
          logRequestWhenFinished(loggers.logger, request.raw, reply.raw);
          done();
        },
        { bindings: { correlationId: request.id } },
      );
    });
}
