import type { DataSource, EntityManager } from 'typeorm';

type Db = DataSource | EntityManager;

/**
 * Readers woken by an operator (`npm run subscriptions -- retry | skip`): the payload is the
 * subscription id. A reader that backs off after a failure listens and tries again at once.
 */
export const SUBSCRIPTION_RETRY_CHANNEL = 'subscription_retry';

/** The event a reader is stopped at: the first one after its checkpoint that it cannot take. */
export interface FailingEvent {
  eventId: string;
  globalPosition: string | number | bigint;
  eventType: string;
}

/** A reader stopped at an event, as `subscription_checkpoints` records it. */
export interface SubscriptionFailure {
  eventId: string;
  globalPosition: number;
  eventType: string;
  error: string;
  attempts: number;
  since: Date;
  lastAttemptAt: Date;
}

/** The columns of a SubscriptionFailure, aliased; NULL columns when the reader is not stopped. */
export const SUBSCRIPTION_FAILURE_COLUMNS = `failing_event_id AS "failingEventId", failing_global_position::float8 AS "failingGlobalPosition",
  failing_event_type AS "failingEventType", last_error AS "lastError", failed_attempts AS "failedAttempts",
  failing_since AS "failingSince", last_failed_at AS "lastFailedAt"`;

export interface SubscriptionFailureRow {
  failingEventId: string | null;
  failingGlobalPosition: number | null;
  failingEventType: string | null;
  lastError: string | null;
  failedAttempts: number;
  failingSince: Date | null;
  lastFailedAt: Date | null;
}

/** The failure a row read with SUBSCRIPTION_FAILURE_COLUMNS records, if any. */
export function failureOf(row: SubscriptionFailureRow): SubscriptionFailure | undefined {
  if (row.failingEventId === null || row.failingGlobalPosition === null) return undefined;
  return {
    eventId: row.failingEventId,
    globalPosition: row.failingGlobalPosition,
    eventType: row.failingEventType ?? '',
    error: row.lastError ?? '',
    attempts: row.failedAttempts,
    since: row.failingSince ?? new Date(0),
    lastAttemptAt: row.lastFailedAt ?? new Date(0),
  };
}

const MAX_ERROR_LENGTH = 2000;

export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}

/**
 * Records that `subscriptionId` (its `segment`, when split into segments) could not take `event`: attempts count up while it is the same
 * event, `since` is its first failure. Call it outside the transaction that failed (or after
 * its rollback), since the record must outlive it. Nothing is recorded when the checkpoint is at
 * or past the event already (another process took it meanwhile). Returns the attempts so far,
 * or undefined when nothing was recorded.
 *
 * The failure is cleared by the database itself as soon as the checkpoint reaches the event
 * (trigger `subscription_failure_passed`): advancing the checkpoint past it is the success.
 */
export async function recordFailure(db: Db, subscriptionId: string, event: FailingEvent, error: unknown, segment = 0): Promise<number | undefined> {
  const rows: Array<{ attempts: number }> = await db.query(
    `UPDATE subscription_checkpoints SET
       failed_attempts = CASE WHEN failing_event_id = $2::uuid THEN failed_attempts + 1 ELSE 1 END,
       failing_since = CASE WHEN failing_event_id = $2::uuid THEN failing_since ELSE clock_timestamp() END,
       failing_event_id = $2::uuid, failing_global_position = $3::bigint, failing_event_type = $4,
       last_error = $5, last_failed_at = clock_timestamp()
     WHERE subscription_id = $1 AND segment = $6 AND global_position < $3::bigint
     RETURNING failed_attempts AS attempts`,
    [subscriptionId, event.eventId, String(event.globalPosition), event.eventType, describeError(error), segment],
  );
  // TypeORM returns [rows, affected] for an UPDATE … RETURNING.
  const returned = (Array.isArray(rows[0]) ? rows[0] : rows) as Array<{ attempts: number }>;
  return returned[0]?.attempts;
}

/**
 * Forgets the subscription's failure (e.g. a reader that set the event aside by other means).
 * Writes nothing when there is none, so it may be called after every success.
 */
export async function clearFailure(db: Db, subscriptionId: string): Promise<void> {
  await db.query(
    `UPDATE subscription_checkpoints SET failing_event_id = NULL, failing_global_position = NULL, failing_event_type = NULL,
       last_error = NULL, failed_attempts = 0, failing_since = NULL, last_failed_at = NULL
     WHERE subscription_id = $1 AND failing_event_id IS NOT NULL`,
    [subscriptionId],
  );
}

/** The subscription's recorded failure, if it is stopped at an event (split into segments: the earliest of theirs). */
export async function loadFailure(db: Db, subscriptionId: string): Promise<SubscriptionFailure | undefined> {
  const [row]: SubscriptionFailureRow[] = await db.query(
    `SELECT ${SUBSCRIPTION_FAILURE_COLUMNS} FROM subscription_checkpoints WHERE subscription_id = $1
     ORDER BY failing_global_position NULLS LAST LIMIT 1`,
    [subscriptionId],
  );
  return row ? failureOf(row) : undefined;
}

/** Wakes every process's reader of `subscriptionId` now (at commit, when `db` is in a transaction). */
export async function requestRetry(db: Db, subscriptionId: string): Promise<void> {
  await db.query(`SELECT pg_notify($1, $2)`, [SUBSCRIPTION_RETRY_CHANNEL, subscriptionId]);
}

export interface SkipRequest {
  eventId: string;
  /** Who skips (recorded). */
  by: string;
  /** Why (recorded). */
  reason: string;
}

export type SkipResult =
  | { outcome: 'skipped'; failure: SubscriptionFailure }
  | { outcome: 'unknown-subscription' }
  | { outcome: 'not-stopped' }
  | { outcome: 'stopped-at-another-event'; failure: SubscriptionFailure };

/**
 * Moves the subscription's checkpoint past exactly the event it is stopped at, and only if that
 * is `request.eventId`: one transaction locks the checkpoint (a batch being applied finishes
 * first), checks, moves it to the event's position (which clears the failure), records the skip
 * in `skipped_events` and wakes the reader. Nothing before the event is skipped: a failure is
 * recorded only for the first event after the checkpoint.
 */
export async function skipFailingEvent(dataSource: DataSource, subscriptionId: string, request: SkipRequest): Promise<SkipResult> {
  return dataSource.transaction(async (transaction) => {
    // Every segment's row (one unless split): the one stopped at the event is the one to move.
    const rows: Array<SubscriptionFailureRow & { checkpoint: string; segment: number }> = await transaction.query(
      `SELECT segment, global_position::text AS checkpoint, ${SUBSCRIPTION_FAILURE_COLUMNS}
       FROM subscription_checkpoints WHERE subscription_id = $1 ORDER BY failing_global_position NULLS LAST, segment FOR UPDATE`,
      [subscriptionId],
    );
    if (rows.length === 0) return { outcome: 'unknown-subscription' };
    const stopped = rows.filter((row) => failureOf(row));
    if (stopped.length === 0) return { outcome: 'not-stopped' };
    const row = stopped.find((candidate) => failureOf(candidate)!.eventId === request.eventId.toLowerCase());
    if (!row) return { outcome: 'stopped-at-another-event', failure: failureOf(stopped[0])! };
    const failure = failureOf(row)!;

    await transaction.query(
      `UPDATE subscription_checkpoints SET global_position = $2::bigint, updated_at = now() WHERE subscription_id = $1 AND segment = $3`,
      [subscriptionId, String(failure.globalPosition), row.segment],
    );
    await transaction.query(
      `INSERT INTO skipped_events (subscription_id, event_id, global_position, event_type, last_error, failed_attempts, failing_since, skipped_by, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [subscriptionId, failure.eventId, failure.globalPosition, failure.eventType, failure.error, failure.attempts, failure.since, request.by, request.reason],
    );
    await requestRetry(transaction, subscriptionId);
    return { outcome: 'skipped', failure };
  });
}
