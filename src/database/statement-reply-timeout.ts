import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientBase } from 'pg';
import { DatabaseSilenceAtStop, DatabaseSilentAtStopError, databaseSilenceAtStop } from './stop-database-wait';
import { wrapQuery } from './wrap-query';

/**
 * A statement on a pool connection had no answer from PostgreSQL within the bound
 * (DATABASE_STATEMENT_REPLY_TIMEOUT_MS): its connection was ended. The server may be gone, or may
 * have run the statement: a COMMIT that failed so may have committed.
 */
export class StatementReplyTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    /** What set the bound, for the message. */
    bound = 'DATABASE_STATEMENT_REPLY_TIMEOUT_MS',
  ) {
    super(`PostgreSQL did not answer a statement within ${timeoutMs} ms (${bound}): its connection was ended`);
    this.name = 'StatementReplyTimeoutError';
  }
}

const unbounded = new AsyncLocalStorage<true>();

/**
 * Runs `work` with no reply timeout on the statements it sends on pool connections, for work whose
 * statements legitimately run long: a migration (a backfill, an index build), a projection rebuild
 * (a batch, the comparison of two tables). What `work` starts in the background is exempt too.
 * TCP keepalive (pgPoolOptions) still ends such a statement's connection once the server's host is
 * gone after it received the statement.
 */
export function withoutStatementReplyTimeout<T>(work: () => Promise<T>): Promise<T> {
  return unbounded.run(true, work);
}

/**
 * Bounds how long each promise-style statement of `client` waits for its answer: after `timeoutMs`
 * the statement rejects with StatementReplyTimeoutError and the client is ended, so that pg-pool
 * discards it on release and whatever else waits on it fails at once ("not queryable").
 *
 * Why not pg's own `query_timeout`: after it fires, the statement stays the connection's active
 * one and the client stays open, so pg-pool takes it back as reusable; the next statements on it
 * queue behind the unanswered one and time out in turn, unsent, one borrower after another, until
 * the kernel gives the socket up (up to ~15 min of retransmissions). It also cannot be lifted for
 * one statement through TypeORM (a per-query 0 falls back to the pool's value), which migrations
 * need. Ending the client destroys its socket at once (pg's `end()` does so while a statement is
 * active), which also settles the question of a late answer: there is no connection left to read
 * it. Nor `statement_timeout`: the server applies it, and a server that is gone applies nothing.
 *
 * A server that is only slow sees the socket close and cancels the statement within
 * `client_connection_check_interval` (pool-options.ts). Calls inside withoutStatementReplyTimeout,
 * callback-style calls and submittables (a cursor, a stream, COPY) are not bounded. Install it as
 * the innermost wrapper of `query` (before serializeQueries), so that the time counted is the
 * statement's own, not its wait behind the previous one.
 *
 * `applies`: whether the statement being sent is bounded, asked as it is sent (by default: unless
 * inside withoutStatementReplyTimeout); `bound`: what set `timeoutMs`, for the error's message. A
 * lease session bounds only its own statements this way (lease-session.ts).
 *
 * During the process's stop (`silence`), a statement also fails, with DatabaseSilentAtStopError and
 * its connection ended, once PostgreSQL is found silent (stop-database-wait.ts), bounded by
 * `timeoutMs` or not; each answer tells `silence` that PostgreSQL answers. `timeoutMs` 0 leaves
 * only that.
 */
export function boundStatementReplies(
  client: ClientBase,
  timeoutMs: number,
  {
    applies = () => !unbounded.getStore(),
    bound,
    silence = databaseSilenceAtStop,
  }: { applies?: () => boolean; bound?: string; silence?: DatabaseSilenceAtStop } = {},
): void {
  wrapQuery(client, (query) => (...args: unknown[]) => {
    if (silence.isSilent && typeof args.at(-1) !== 'function' && !isSubmittable(args[0])) return Promise.reject(new DatabaseSilentAtStopError(silence.waitMs));
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    const replyTimeoutMs = timeoutMs > 0 && applies() ? timeoutMs : 0;
    return new Promise((resolve, reject) => {
      let answered = false;
      let timer: NodeJS.Timeout | undefined;
      const giveUp = (error: Error) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        forget();
        reject(error);
        void (client as ClientBase & { end(): Promise<void> }).end().catch(() => undefined);
      };
      const forget = silence.watch(giveUp);
      if (replyTimeoutMs) {
        timer = setTimeout(() => {
          // After this process was busy or descheduled past the bound, the answer may be waiting in
          // the socket, due together with this timer; timers run first in Node's event loop, sockets
          // are read after them, and setImmediate callbacks after that. So only a statement still
          // unanswered then has timed out, not one this process was merely late to read.
          setImmediate(() => giveUp(new StatementReplyTimeoutError(replyTimeoutMs, bound)));
        }, replyTimeoutMs);
      }
      const settle = (then: () => void) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        forget();
        silence.answered();
        then();
      };
      result.then(
        (value) => settle(() => resolve(value)),
        (error: unknown) => settle(() => reject(error)),
      );
    });
  });
}

/** A cursor, a stream, COPY: pg runs it through its `submit`, and returns it rather than a promise. */
function isSubmittable(arg: unknown): boolean {
  return typeof (arg as { submit?: unknown } | undefined)?.submit === 'function';
}
