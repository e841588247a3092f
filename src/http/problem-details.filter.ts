import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, DomainErrorKind } from '../shared/domain-error';
import { classifyFailure } from '../shared/failure-classification';
import { FieldError, PROBLEM_CONTENT_TYPE, ProblemDetails } from './problem-details';
import { RequestValidationError } from './request-validation';

const STATUS_OF_KIND: Record<DomainErrorKind, number> = {
  'not-found': HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  invalid: HttpStatus.BAD_REQUEST,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  'precondition-failed': HttpStatus.PRECONDITION_FAILED,
  // Something this service depends on (RabbitMQ) failed the use case; its message says what to do.
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** What a problem response says, before the request it answers fills in `instance` and `correlationId`. */
export interface Problem {
  status: number;
  code: string;
  detail?: string;
  errors?: FieldError[];
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
}

/**
 * PostgreSQL (or the broker) failed the request for a reason of its own, not the request's: a
 * terminated connection, too many connections, a serialization failure or deadlock, a lock
 * timeout (`classifyFailure` says `infrastructure`). The same request succeeds once it is back.
 */
export const DATABASE_UNAVAILABLE: Problem = {
  status: 503,
  code: 'DATABASE_UNAVAILABLE',
  detail: 'the database could not complete this request now; retry after 1 s (a command with the same Idempotency-Key takes effect at most once)',
  retryAfterSeconds: 1,
};

/** The problem a domain error is answered with: its status from its kind, its code and its message. */
export function problemOfDomainError(error: DomainError): Problem {
  return { status: STATUS_OF_KIND[error.kind], code: error.code, detail: error.message };
}

/**
 * Turns every error into RFC 9457 problem details. Domain errors map by kind, framework errors
 * keep their status, a failure of the database that is not the request's fault (classifyFailure:
 * `infrastructure`) becomes a 503 with `Retry-After`, and anything else unexpected becomes a bare
 * 500; the details of both stay in the log.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const problem = this.toProblem(exception);
    if (problem.status >= 500) {
      this.logger.error(`${request.method} ${request.routeOptions.url ?? request.url} failed`, exception instanceof Error ? exception.stack : String(exception));
    }
    sendProblem(reply, request, problem);
  }

  private toProblem(exception: unknown): Problem {
    if (exception instanceof DomainError) return problemOfDomainError(exception);
    if (exception instanceof RequestValidationError) {
      return { status: 400, code: 'VALIDATION_FAILED', detail: exception.message, errors: exception.fieldErrors };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return { status, code: codeOf(exception) ?? codeOfStatus(status), detail: status < 500 ? messageOf(exception) : undefined };
    }
    const fastifyStatus = (exception as { statusCode?: number })?.statusCode;
    if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
      return { status: fastifyStatus, code: codeOfStatus(fastifyStatus), detail: (exception as Error).message };
    }
    if (classifyFailure(exception) === 'infrastructure') return DATABASE_UNAVAILABLE;
    return { status: 500, code: 'INTERNAL_ERROR', detail: 'an unexpected error occurred; it has been logged' };
  }
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, problem: Problem): void {
  const body = problemDetailsOf(problem, { instance: request.url.split('?')[0], correlationId: request.id });
  if (problem.retryAfterSeconds !== undefined) void reply.header('retry-after', String(problem.retryAfterSeconds));
  void reply.status(problem.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
}

/** The RFC 9457 body of `problem` answering the request at `instance` (its path) with `correlationId`. */
export function problemDetailsOf(problem: Problem, request: { instance: string; correlationId: string }): ProblemDetails {
  return {
    type: `/problems/${problem.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[problem.status] ?? 'Error',
    status: problem.status,
    ...(problem.detail !== undefined && { detail: problem.detail }),
    instance: request.instance,
    code: problem.code,
    correlationId: request.correlationId,
    ...(problem.errors ? { errors: problem.errors } : {}),
  };
}

function codeOfStatus(status: number): string {
  return (TITLES[status] ?? 'Error').toUpperCase().replace(/ /g, '_');
}

/** A stable code an HttpException names in its response (`new UnauthorizedException({ code, message })`). */
function codeOf(exception: HttpException): string | undefined {
  const response = exception.getResponse();
  const code = typeof response === 'object' ? (response as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function messageOf(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  return Array.isArray(message) ? message.join('; ') : String(message ?? exception.message);
}
