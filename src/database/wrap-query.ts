import type { ClientBase } from 'pg';

/** `client.query` as pg declares it in all its forms: a text or a config or a submittable, values, a callback. */
export type Query = (...args: unknown[]) => unknown;

/**
 * Replaces `client.query` with `wrap(query)`, where `query` is the one it had (bound to the
 * client). The connection wrappers of pool-options.ts stack through this, the last installed
 * outermost.
 */
export function wrapQuery(client: ClientBase, wrap: (query: Query) => Query): void {
  const query = client.query.bind(client) as Query;
  (client as unknown as { query: Query }).query = wrap(query);
}
