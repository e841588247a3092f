import type { Client } from 'pg';
import { eventually, type TestApp } from './test-app';

/**
 * Places `count` orders, customer after customer, with `concurrency` requests in flight: `post`
 * sends one order's body and answers its status. Returns every status.
 */
export async function burst(post: (body: object) => Promise<number>, customers: string[], count: number, concurrency = 16): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        statuses.push(
          await post({ customerId: customers[i % customers.length], currency: 'EUR', lines: [{ sku: `B-${i}`, quantity: 1, unitPrice: 100 }] }),
        );
      }
    }),
  );
  return statuses;
}

/** `burst`'s `post` through the in-process API. */
export const viaTestApp = (api: TestApp) => async (body: object) => (await api.http().post('/orders').send(body)).status;

/** The number `sql` selects as `n`. */
export async function count(db: Client, sql: string, params: unknown[] = []): Promise<number> {
  return (await db.query(sql, params)).rows[0].n;
}

export async function countInApi(api: TestApp, sql: string): Promise<number> {
  return (await api.db.query(sql))[0].n;
}

/** The consumer's inbox holds as many events as the API stored (the inbox's key refuses an id twice). */
export async function expectInboxHoldsEveryStoredEvent(api: TestApp, consumerDb: Client): Promise<void> {
  const stored = await countInApi(api, `SELECT count(*)::int AS n FROM events`);
  expect(await count(consumerDb, `SELECT count(*)::int AS n FROM inbox`)).toBe(stored);
}

/** The consumer applied exactly the events the API stored, within 60 s: none missing, none twice in effect. */
export async function expectEverythingAppliedOnce(api: TestApp, consumerDb: Client, customers: string[], ordersPlaced: number): Promise<void> {
  await eventually(() => expectInboxHoldsEveryStoredEvent(api, consumerDb), 60_000);
  const { rows } = await consumerDb.query(
    `SELECT sum(orders_placed)::int AS placed, count(*)::int AS customers FROM customer_stats WHERE customer_id = ANY($1)`,
    [customers],
  );
  expect(rows[0]).toEqual({ placed: ordersPlaced, customers: customers.length });
  expect(await count(consumerDb, `SELECT count(*)::int AS n FROM notifications WHERE kind = 'WELCOME'`)).toBe(customers.length);
}

/** Inbox rows applied (in `applied_at` order) right after another of their stream that is not the sequence before theirs. */
export function appliedOutOfSequence(consumerDb: Client): Promise<number> {
  return count(
    consumerDb,
    `SELECT count(*)::int AS n FROM (
       SELECT sequence, lag(sequence) OVER (PARTITION BY stream_id ORDER BY applied_at, sequence) AS previous FROM inbox
     ) t WHERE previous IS NOT NULL AND sequence <> previous + 1`,
  );
}
