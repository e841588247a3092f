import { MigrationInterface, QueryRunner } from 'typeorm';

const FROM = 'reaction:order-fulfilment';
const TO = 'reaction:order-credit';
/** The steps that moved from the Orders module's saga to the Users module's (src/modules/users/sagas/order-credit.saga.ts). */
const MOVED_STEPS = ['reserveCreditForPlacedOrder', 'releaseCreditOfClosedOrder', 'consumeCreditOfShippedOrder'];
/** The stored types the moved steps read, and so the events whose whole-event receipt (`*`) covers them. */
const MOVED_EVENT_TYPES = ['OrderPlaced', 'OrderCancelled', 'OrderRejected', 'OrderShipped'];
/** order-credit's step over OrderCreditDeclined, which the previous version has no counterpart of. */
const DECLINED_STEP = 'releaseCreditDeclinedByOrder';

/**
 * The credit steps leave `reaction:order-fulfilment` (the Orders module's saga) for
 * `reaction:order-credit` (the Users module's, over the Orders module's contracts). The new
 * reaction takes over where the old one stands, so nothing is skipped and nothing done twice:
 * - its checkpoint rows: a copy of the old ones (segments, positions, `starts_after`);
 * - its receipts: the old reaction's receipts of the moved steps, and its whole-event receipts of
 *   the types those steps read;
 * - its parked steps: the old reaction's parked rows of the moved steps, moved;
 * - a pause of the old reaction pauses the new one too.
 * A database with no old checkpoint (a new one) gets nothing: the new reaction starts at the head.
 *
 * An API process of the previous version still running the old saga would reserve credit under
 * the old id after this copy, and the new reaction would reserve it again. The migration refuses
 * while any other session holds the old reaction's membership lock (SubscriptionLeases), and
 * holds it itself until it commits: stop every API process of the previous version (or start it
 * with REACTIONS_ENABLED=false) first.
 */
export class OrderCreditReaction1765200000000 implements MigrationInterface {
  name = 'OrderCreditReaction1765200000000';

  async up(db: QueryRunner): Promise<void> {
    // Every process running the old reaction holds its membership lock shared (SubscriptionLeases:
    // pg_advisory_lock_shared(hashtext('<id>/<segments>'), segments)). Taken exclusively here until
    // the migration commits, it fails while one runs, and keeps one from joining before the copy is done.
    const held: Array<{ segments: number; taken: boolean }> = await db.query(
      `SELECT segments, pg_try_advisory_xact_lock(hashtext($1 || '/' || segments), segments) AS taken
       FROM (SELECT DISTINCT segments FROM subscription_checkpoints WHERE subscription_id = $1) AS c`,
      [FROM],
    );
    if (held.some(({ taken }) => !taken)) {
      throw new Error(
        `${FROM} is running in another session: stop the API processes of the previous version ` +
          `(or restart them with REACTIONS_ENABLED=false) before this version moves its credit steps to ${TO}`,
      );
    }
    await db.query(
      `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, starts_after)
       SELECT $2, segment, segments, global_position, starts_after FROM subscription_checkpoints WHERE subscription_id = $1
       ON CONFLICT DO NOTHING`,
      [FROM, TO],
    );
    await db.query(
      `INSERT INTO reaction_receipts (subscription_id, event_id, step, recorded_at)
       SELECT $2, r.event_id, r.step, r.recorded_at FROM reaction_receipts r
       WHERE r.subscription_id = $1
         AND (r.step = ANY($3::text[]) OR (r.step = '*' AND EXISTS (SELECT 1 FROM events e WHERE e.event_id = r.event_id AND e.event_type = ANY($4::text[]))))
       ON CONFLICT DO NOTHING`,
      [FROM, TO, MOVED_STEPS, MOVED_EVENT_TYPES],
    );
    await db.query(`UPDATE parked_reactions SET reaction = $2 WHERE reaction = $1 AND step = ANY($3::text[])`, [FROM, TO, MOVED_STEPS]);
    await db.query(
      `INSERT INTO paused_subscriptions (subscription_id, paused_by, reason, paused_at)
       SELECT $2, paused_by, reason, paused_at FROM paused_subscriptions WHERE subscription_id = $1
       ON CONFLICT DO NOTHING`,
      [FROM, TO],
    );
  }

  /**
   * Back to the previous version, which runs the credit steps in `reaction:order-fulfilment` again.
   * Whole-event receipts meant less in this version, on either side, than they do to the old one:
   * - order-credit's `*` of an OrderPlaced says the credit was reserved, not that order-fulfilment
   *   scheduled the order's deadline (it may lag, or be paused): what order-credit did comes back
   *   as receipts of the steps it did, never as `*`;
   * - order-fulfilment's own `*` of an OrderPlaced says the deadline was scheduled, not that the
   *   credit was reserved: where order-credit did not (it lagged), that `*` goes, so the old
   *   reaction reserves it (the deadline step keeps its receipt);
   * - this version's order-fulfilment passes over OrderCancelled and OrderShipped: its checkpoint
   *   goes back to order-credit's where that lags, so the old one takes those order-credit did not
   *   (receipts pass over the rest).
   * Refused while order-credit has an OrderCreditDeclined left to do (see refuseWhileDeclinedCreditIsHeld).
   */
  async down(db: QueryRunner): Promise<void> {
    await refuseWhileDeclinedCreditIsHeld(db);
    await db.query(
      `INSERT INTO reaction_receipts (subscription_id, event_id, step, recorded_at)
       SELECT $1, r.event_id, r.step, r.recorded_at FROM reaction_receipts r
       WHERE r.subscription_id = $2 AND r.step = ANY($3::text[])
       ON CONFLICT DO NOTHING`,
      [FROM, TO, MOVED_STEPS],
    );
    await db.query(
      `INSERT INTO reaction_receipts (subscription_id, event_id, step, recorded_at)
       SELECT $1, r.event_id, s.step, r.recorded_at
       FROM reaction_receipts r
       JOIN events e ON e.event_id = r.event_id
       JOIN (VALUES ('OrderPlaced', 'reserveCreditForPlacedOrder'), ('OrderCancelled', 'releaseCreditOfClosedOrder'),
                    ('OrderRejected', 'releaseCreditOfClosedOrder'), ('OrderShipped', 'consumeCreditOfShippedOrder')) AS s(event_type, step)
         ON s.event_type = e.event_type
       WHERE r.subscription_id = $2 AND r.step = '*'
       ON CONFLICT DO NOTHING`,
      [FROM, TO],
    );
    await db.query(
      `DELETE FROM reaction_receipts f USING events e
       WHERE f.subscription_id = $1 AND f.step = '*' AND e.event_id = f.event_id AND e.event_type = ANY($3::text[])
         AND e.global_position > (SELECT min(global_position) FROM subscription_checkpoints WHERE subscription_id = $2)
         AND NOT EXISTS (SELECT 1 FROM reaction_receipts t WHERE t.subscription_id = $2 AND t.event_id = f.event_id)`,
      [FROM, TO, MOVED_EVENT_TYPES],
    );
    await db.query(
      `UPDATE subscription_checkpoints c SET global_position = least(c.global_position, credit.position), updated_at = now()
       FROM (SELECT min(global_position) AS position FROM subscription_checkpoints WHERE subscription_id = $2) AS credit
       WHERE c.subscription_id = $1 AND credit.position IS NOT NULL`,
      [FROM, TO],
    );
    await db.query(`UPDATE parked_reactions SET reaction = $1 WHERE reaction = $2`, [FROM, TO]);
    for (const table of ['reaction_receipts', 'subscription_checkpoints', 'paused_subscriptions']) {
      await db.query(`DELETE FROM ${table} WHERE subscription_id = $1`, [TO]);
    }
  }
}

/**
 * The previous version reads no OrderCreditDeclined: it gave a late reservation back inside
 * ConfirmOrder, on the CreditReserved its order-fulfilment has receipted already in this version.
 * One order-credit has not acted on yet (beyond its checkpoint without a receipt, or parked) would
 * be a reservation never released after down: refused until order-credit has caught up with them.
 */
async function refuseWhileDeclinedCreditIsHeld(db: QueryRunner): Promise<void> {
  const [{ held }]: Array<{ held: number }> = await db.query(
    `SELECT (SELECT count(*) FROM events e
             WHERE e.event_type = 'OrderCreditDeclined'
               AND (e.global_position IS NULL
                    OR e.global_position > coalesce((SELECT min(global_position) FROM subscription_checkpoints WHERE subscription_id = $1), 0))
               AND NOT EXISTS (SELECT 1 FROM reaction_receipts r WHERE r.subscription_id = $1 AND r.event_id = e.event_id AND r.step = '*'))
          + (SELECT count(*) FROM parked_reactions WHERE reaction = $1 AND step = $2) AS held`,
    [TO, DECLINED_STEP],
  );
  if (Number(held) > 0) {
    throw new Error(
      `${TO} has ${held} OrderCreditDeclined event(s) to act on (behind its checkpoint, paused or parked as ${DECLINED_STEP}): ` +
        `the previous version would never release that credit. Resume ${TO}, retry its parked steps, and let it catch up before going down`,
    );
  }
}
