import type { Client, PoolClient } from 'pg';
import { processStopping } from '../shared/process-stop';

/**
 * How long a stop lets PostgreSQL stay silent while something waits on it before it gives up on it.
 * The value is that of the pool's bounded end (END_CONNECTION_WAIT_MS), the stop's other wait on
 * a silent PostgreSQL.
 */
export const STOP_DATABASE_WAIT_MS = 2000;

/** PostgreSQL answered nothing for the stop's wait while this waited on it: given up, as on a lost connection. */
export class DatabaseSilentAtStopError extends Error {
  constructor(readonly waitMs: number) {
    super(`PostgreSQL answered nothing for ${waitMs} ms during the stop: given up as unreachable`);
    this.name = 'DatabaseSilentAtStopError';
  }
}

type ConnectCallback = (error: Error | undefined, client?: PoolClient, release?: (error?: Error | boolean) => void) => void;

/** What DatabaseSilenceAtStop needs of a pg Pool: its connect() and, inside, its clients. */
export interface WatchedPool {
  connect(callback?: ConnectCallback): Promise<PoolClient> | void;
}

/**
 * Gives up, during a stop, on a PostgreSQL that answers nothing: once PostgreSQL has answered none
 * of this process's statements and connects for `waitMs` while one of them waited at least that
 * long (counted from the stop's beginning for one already waiting), every statement and connect
 * still waiting fails (DatabaseSilentAtStopError; a statement's connection is ended), and so does
 * every later one, at once. A request then answers 503 DATABASE_UNAVAILABLE, a reader's step or a
 * consumer's delivery fails as in an outage, and the stop goes on.
 *
 * Why: DATABASE_STATEMENT_REPLY_TIMEOUT_MS (30 s by default) outlasts SHUTDOWN_TIMEOUT_MS (10 s),
 * and a silent PostgreSQL (its machine gone, the network cut: no FIN, no RST) answers nothing. A
 * stop waited for its requests in flight until its deadline and exited 1, their clients
 * unanswered; bounding each wait alone was not enough: the shutdown hooks run one module after
 * another, and each reader's next step waited its own bound anew.
 *
 * Silence, not slowness: while PostgreSQL answers anything (another statement, a heartbeat, a
 * connect), a statement that waits long (on a lock, a large read) is left to its own bound and the
 * stop's deadline. A statement given up is rolled back unless its COMMIT was under way (then its
 * outcome is unknown, as for any 503 DATABASE_UNAVAILABLE: an Idempotency-Key makes the retry
 * safe). Once silent, ending a connection (endConnection) or the pool (boundPoolEnd) does not wait
 * for PostgreSQL to close its side either.
 */
export class DatabaseSilenceAtStop {
  private stopBeganAt?: number;
  private lastAnswerAt = Number.NEGATIVE_INFINITY;
  private silent = false;
  /** What waits on PostgreSQL now (from before the stop too): since when, and how to give it up. */
  private readonly waiting = new Set<{ since: number; giveUp(error: Error): void }>();
  private readonly pools = new Set<WatchedPool>();
  private timer?: NodeJS.Timeout;

  constructor(
    stopping: AbortSignal,
    readonly waitMs = STOP_DATABASE_WAIT_MS,
  ) {
    if (stopping.aborted) this.begin();
    else stopping.addEventListener('abort', () => this.begin(), { once: true });
  }

  get isSilent(): boolean {
    return this.silent;
  }

  /** PostgreSQL answered something (a statement's result or error, a connect). */
  answered(): void {
    this.lastAnswerAt = performance.now();
  }

  /**
   * Watches something that waits on PostgreSQL from now on, before the stop too (what waits when
   * it begins counts from then): `giveUp` is called once if PostgreSQL is found silent before
   * `forget` (the returned function) is; at once if it was found silent already.
   */
  watch(giveUp: (error: Error) => void): () => void {
    if (this.silent) {
      giveUp(new DatabaseSilentAtStopError(this.waitMs));
      return () => undefined;
    }
    const entry = { since: performance.now(), giveUp };
    this.waiting.add(entry);
    this.arm();
    return () => this.waiting.delete(entry);
  }

  /**
   * Watches `pool`'s connects during the stop (the wait for a free connection and the connect
   * itself): one given up rejects at once, and the connection it gets later goes back to the pool.
   * Connects under way when PostgreSQL is found silent have their sockets destroyed.
   */
  watchPool(pool: WatchedPool): void {
    this.pools.add(pool);
    const connect = pool.connect.bind(pool) as (callback: ConnectCallback) => void;
    pool.connect = (callback?: ConnectCallback) => {
      const connected = new Promise<PoolClient>((resolve, reject) => {
        let givenUp = false;
        const forget = this.watch((error) => {
          givenUp = true;
          reject(error);
        });
        if (givenUp) return;
        connect((error, client, release) => {
          forget();
          if (givenUp) return release?.();
          if (error) return reject(error);
          this.answered();
          resolve(client!);
        });
      });
      if (!callback) return connected;
      connected.then(
        (client) => callback(undefined, client, client.release.bind(client)),
        (error: Error) => callback(error),
      );
    };
  }

  private begin(): void {
    this.stopBeganAt = performance.now();
    this.arm();
  }

  private arm(): void {
    if (this.stopBeganAt === undefined || this.timer || this.silent || this.waiting.size === 0) return;
    const quietSince = this.quietSince();
    this.timer = setTimeout(() => this.check(), Math.max(0, quietSince + this.waitMs - performance.now()));
    this.timer.unref();
  }

  /** Since when the longest wait has gone unanswered, with no answer to anything since. */
  private quietSince(): number {
    const oldest = Math.min(...[...this.waiting].map(({ since }) => since));
    return Math.max(oldest, this.lastAnswerAt, this.stopBeganAt!);
  }

  private check(): void {
    this.timer = undefined;
    if (this.waiting.size === 0) return;
    // As in boundStatementReplies: an answer due with this timer is read before setImmediate runs.
    setImmediate(() => {
      if (this.waiting.size === 0 || performance.now() - this.quietSince() < this.waitMs) return this.arm();
      this.silent = true;
      const error = new DatabaseSilentAtStopError(this.waitMs);
      for (const { giveUp } of [...this.waiting]) giveUp(error);
      this.waiting.clear();
      for (const pool of this.pools) for (const client of clientsOf(pool)) if (!isConnected(client)) destroySocket(client);
    });
  }
}

/**
 * `client.connect()` for a connection of its own (a lease session, the LISTEN connection), given
 * up like the pool's connects once the stop found PostgreSQL silent: its socket is destroyed,
 * which fails the connect (and refused at once after that).
 */
export async function connectWatched(client: Client, silence: DatabaseSilenceAtStop = databaseSilenceAtStop): Promise<void> {
  if (silence.isSilent) throw new DatabaseSilentAtStopError(silence.waitMs);
  const forget = silence.watch(() => destroySocket(client));
  try {
    await client.connect();
    silence.answered();
  } finally {
    forget();
  }
}

/** The process's: its stop is GracefulShutdown's (processStopping). */
export const databaseSilenceAtStop = new DatabaseSilenceAtStop(processStopping);

function clientsOf(pool: WatchedPool): Client[] {
  return (pool as unknown as { _clients?: Client[] })._clients ?? [];
}

/** pg sets `_connected` once the server said it is ready for queries. */
function isConnected(client: Client): boolean {
  return (client as unknown as { _connected?: boolean })._connected === true;
}

function destroySocket(client: Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
