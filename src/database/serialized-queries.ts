import type { ClientBase } from 'pg';
import { wrapQuery } from './wrap-query';

/**
 * Makes `client` send its promise-style queries one after another: a query called while another
 * is running starts when that one has settled, instead of waiting in pg's own queue (which pg
 * 8.x deprecates with a warning and pg 9 removes). Keepalive queries (keepalive-queries.ts) share
 * a connection with work that knows nothing of them; through this they never overlap it.
 * Callback-style calls and submittables (a cursor, a stream, COPY) go to pg as they are.
 */
export function serializeQueries(client: ClientBase): void {
  let last: Promise<unknown> = Promise.resolve();
  wrapQuery(client, (query) => (...args: unknown[]) => {
    const [config] = args;
    const submittable = typeof (config as { submit?: unknown } | undefined)?.submit === 'function';
    if (submittable || args.some((arg) => typeof arg === 'function')) return query(...args);
    const run = last.then(() => query(...args));
    last = run.catch(() => undefined);
    return run;
  });
}
