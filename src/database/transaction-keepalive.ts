import type { EntityManager } from 'typeorm';
import { sendKeepaliveQueries } from './keepalive-queries';

/** A kept-alive transaction sends its `SELECT 1` this many times per idle-in-transaction timeout. */
const KEEPALIVES_PER_TIMEOUT = 3;

/**
 * Runs `work` while `transaction` stays open, sending `SELECT 1` on the transaction's connection
 * every third of `idleTimeoutMs` (DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS; 0: nothing is sent).
 *
 * For a transaction held open while `work` waits on something else (RabbitMQ's confirms, other
 * connections): `idle_in_transaction_session_timeout` would end it, and its session, although
 * this process works. A process that stopped working (frozen, its event loop blocked) sends
 * nothing and still loses the transaction within the timeout, which is what the timeout is for.
 * A `SELECT 1` queues behind a statement `work` runs on the same connection, changes nothing in
 * the transaction, and its failure (a transaction aborted, a session gone) is left to `work`'s
 * own next statement to meet (sendKeepaliveQueries).
 */
export async function keepingTransactionAlive<T>(transaction: EntityManager, idleTimeoutMs: number, work: () => Promise<T>): Promise<T> {
  if (!idleTimeoutMs) return work();
  const stop = sendKeepaliveQueries((sql) => transaction.query(sql), idleTimeoutMs / KEEPALIVES_PER_TIMEOUT);
  try {
    return await work();
  } finally {
    stop();
  }
}
