/**
 * Whose fault a failed delivery is. `infrastructure`: the database or the broker could not do
 * its part (down, restarting, overloaded, a serialization conflict); the same message will
 * succeed once it is back, so it is held and retried without counting an attempt. `message`:
 * this message fails on its own (a constraint, a trigger, a bug its data trips); it climbs the
 * retry ladder and is parked at the end.
 */
export type FailureKind = 'infrastructure' | 'message';

/** Thrown when the broker refuses (nacks) a republish to a retry, reorder or dead-letter queue. */
export class PublishRefusedError extends Error {
  constructor(
    readonly queue: string,
    cause: unknown,
  ) {
    super(`RabbitMQ refused the republish to ${queue}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'PublishRefusedError';
  }
}

/** Socket-level failures reaching PostgreSQL or RabbitMQ. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of the server, not of the statement: 08 connection exception, 53
 * insufficient resources (53300 too many connections), 57P01-57P05 shutdown / cannot connect
 * now / idle timeouts, 57014 statement timeout or cancel, 40001 serialization failure, 40P01
 * deadlock, 55P03 lock timeout, 58 system / I/O error.
 */
const INFRASTRUCTURE_SQLSTATE = /^(08...|53...|57P0[1-5]|57014|40001|40P01|55P03|58...)$/;

/** pg / pg-pool errors that carry no code, only their text. */
const INFRASTRUCTURE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|is not queryable|Channel closed|channel (closed|closing)|Connection closed/i;

/**
 * Errors known by their class name. amqplib's IllegalOperationError: the channel is closed.
 * TypeORM's QueryRunner(Provider)AlreadyReleasedError: the transaction's connection was dropped
 * (PostgreSQL terminated it, pg_terminate_backend, a failover) and TypeORM released it, so the
 * next statement of that transaction fails with this instead of the connection error.
 * StatementReplyTimeoutError: PostgreSQL did not answer a statement in time, and its connection was
 * ended (src/database/statement-reply-timeout.ts). DatabaseSilentAtStopError: a stop gave up on a
 * PostgreSQL that answered nothing (src/database/stop-database-wait.ts).
 */
const INFRASTRUCTURE_ERROR_NAMES = new Set(['IllegalOperationError', 'QueryRunnerProviderAlreadyReleasedError', 'QueryRunnerAlreadyReleasedError', 'StatementReplyTimeoutError', 'DatabaseSilentAtStopError']);

/** amqplib refused an operation because the channel is closed or closing. */
export function isClosedChannelError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'IllegalOperationError' || /channel (closed|closing)/i.test(error.message));
}

export function classifyFailure(error: unknown): FailureKind {
  for (const cause of causes(error)) {
    if (cause instanceof PublishRefusedError) return 'infrastructure';
    const { name, code, message } = cause as { name?: unknown; code?: unknown; message?: unknown };
    if (typeof name === 'string' && INFRASTRUCTURE_ERROR_NAMES.has(name)) return 'infrastructure';
    if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || INFRASTRUCTURE_SQLSTATE.test(code))) return 'infrastructure';
    if (typeof message === 'string' && INFRASTRUCTURE_MESSAGE.test(message)) return 'infrastructure';
  }
  return 'message';
}

/** The error and what it wraps: `cause`, TypeORM's `driverError`, an AggregateError's `errors`. */
function causes(error: unknown, depth = 0): unknown[] {
  if (typeof error !== 'object' || error === null || depth > 5) return [];
  const { cause, driverError, errors } = error as { cause?: unknown; driverError?: unknown; errors?: unknown };
  const inner = [cause, driverError, ...(Array.isArray(errors) ? errors : [])];
  return [error, ...inner.flatMap((next) => causes(next, depth + 1))];
}
