import type { DataSource } from 'typeorm';
import { requestRetry } from './subscription-failures';

/**
 * How long a paused reader waits before it looks again whether it is still paused (one cheap
 * statement). A resume wakes it at once (NOTIFY on SUBSCRIPTION_RETRY_CHANNEL); this only bounds
 * how long a resume whose notification was lost goes unnoticed.
 */
export const PAUSED_RECHECK_MS = 5000;

/**
 * The SQL condition that the subscription whose id is the SQL expression `subscriptionIdSql` is
 * paused (a qualified column, `c.subscription_id`, or a parameter: an unqualified
 * `subscription_id` would name the subquery's own column). Each reader puts it into the statement that reads its next batch, so that a pause costs
 * no round trip of its own (see pauseSubscription).
 */
export function pausedCondition(subscriptionIdSql: string): string {
  return `EXISTS (SELECT 1 FROM paused_subscriptions p WHERE p.subscription_id = ${subscriptionIdSql})`;
}

/** An operator's pause of a reader, as `paused_subscriptions` records it. */
export interface SubscriptionPause {
  /** Who paused it (the token's subject, or the CLI's --by / user name). */
  by: string;
  reason: string;
  since: Date;
}

export type PauseResult =
  | { outcome: 'paused'; pause: SubscriptionPause }
  | { outcome: 'unknown-subscription' }
  | { outcome: 'already-paused'; pause: SubscriptionPause };

export type ResumeResult = { outcome: 'resumed'; pause: SubscriptionPause } | { outcome: 'unknown-subscription' } | { outcome: 'not-paused' };

const PAUSE_COLUMNS = `paused_by AS "by", reason, paused_at AS "since"`;

/**
 * Pauses a reader of the event store (a projection, a reaction or the relay) in every process,
 * durably: it takes no further event until resumed, across restarts. Its checkpoint stays where
 * it is; its lag grows and shows as such, and admission control does not count it.
 *
 * One transaction locks the subscription's checkpoint rows, which a projection holds while it
 * applies a batch, so for a projection the pause is in force when this returns: the batch in
 * flight committed, and no later batch is applied. A reaction or the relay looks for the pause
 * when it reads its next batch: the one it is working on, if any, is finished first.
 */
export async function pauseSubscription(dataSource: DataSource, subscriptionId: string, request: { by: string; reason: string }): Promise<PauseResult> {
  return dataSource.transaction(async (transaction) => {
    const checkpoints: unknown[] = await transaction.query(`SELECT 1 FROM subscription_checkpoints WHERE subscription_id = $1 FOR UPDATE`, [subscriptionId]);
    if (checkpoints.length === 0) return { outcome: 'unknown-subscription' };
    const [inserted]: SubscriptionPause[] = await transaction.query(
      `INSERT INTO paused_subscriptions (subscription_id, paused_by, reason) VALUES ($1, $2, $3)
       ON CONFLICT (subscription_id) DO NOTHING RETURNING ${PAUSE_COLUMNS}`,
      [subscriptionId, request.by, request.reason],
    );
    if (inserted) return { outcome: 'paused', pause: inserted };
    const [existing]: SubscriptionPause[] = await transaction.query(`SELECT ${PAUSE_COLUMNS} FROM paused_subscriptions WHERE subscription_id = $1`, [
      subscriptionId,
    ]);
    return { outcome: 'already-paused', pause: existing };
  });
}

/** Lifts a pause: the reader goes on from its checkpoint at once (woken by NOTIFY at commit), in whichever process runs it. */
export async function resumeSubscription(dataSource: DataSource, subscriptionId: string): Promise<ResumeResult> {
  return dataSource.transaction(async (transaction) => {
    const checkpoints: unknown[] = await transaction.query(`SELECT 1 FROM subscription_checkpoints WHERE subscription_id = $1 LIMIT 1`, [subscriptionId]);
    if (checkpoints.length === 0) return { outcome: 'unknown-subscription' };
    const rows: unknown = await transaction.query(`DELETE FROM paused_subscriptions WHERE subscription_id = $1 RETURNING ${PAUSE_COLUMNS}`, [subscriptionId]);
    // TypeORM answers a DELETE … RETURNING with [rows, affected].
    const [removed] = (Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0] : rows) as SubscriptionPause[];
    if (!removed) return { outcome: 'not-paused' };
    await requestRetry(transaction, subscriptionId);
    return { outcome: 'resumed', pause: removed };
  });
}
