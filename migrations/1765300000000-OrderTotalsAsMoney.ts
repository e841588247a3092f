import { MigrationInterface, QueryRunner } from 'typeorm';

/** The event types whose `total` becomes Money at schema version 2 (ORDER_TOTALS_AS_MONEY in src/modules/orders). */
const TYPES = ['OrderConfirmed', 'OrderCancelled', 'OrderShipped'];
/** Refuses a v1 row of those types from now on: one written by a process of the previous version still running. */
const CONSTRAINT = 'events_order_totals_are_money';

/**
 * OrderConfirmed, OrderCancelled and OrderShipped go from schema version 1 (`total: 2500`) to 2
 * (`total: { amount: 2500, currency: 'EUR' }`), as OrderPlaced did. An upcaster sees one event and
 * the currency is only in the order's OrderPlaced (`currency` at the top of a v1 row, in `total` of
 * a v2 row), so the stored rows are rewritten once here: a copy-transform of the store
 * (G. Young, "Versioning in an Event Sourced System"). Only `payload.total` and `schema_version`
 * change; event ids, positions, global positions, metadata and recorded_at stay as they are, so no
 * reader delivers anything again (their checkpoints are global positions; the published contracts
 * carry `total` in minor units, unchanged).
 *
 * An order stream without an OrderPlaced cannot happen (an order's first event is its OrderPlaced,
 * and nothing deletes events: retention prunes idempotency keys and the consumer's inbox only).
 * Should one exist, the migration refuses, naming the events, instead of guessing a currency.
 *
 * Cost (set-based, one pass): the UPDATE reads the events table once for the OrderPlaced rows (a
 * hash join on stream_id) and once for the rows to change, and writes a new version of each
 * changed row (every index gets an entry: the rows are not HOT-updated on full pages); a second
 * scan finds rows left without an OrderPlaced. No index covers event_type, so nothing cheaper than
 * a scan finds the rows; building one would itself scan. Measured on this machine's kind (2 cores,
 * shared_buffers 128 MB) on a store of 10,000,028 events (8.4 GB) with 2,146,000 rows to change:
 * see the README (Event versioning) for the figures. The table grows by the changed rows until
 * VACUUM (autovacuum) makes their old versions reusable. Writers are held off for the whole run
 * (SHARE ROW EXCLUSIVE: readers go on), so run it with the API stopped, as every upgrade is.
 */
export class OrderTotalsAsMoney1765300000000 implements MigrationInterface {
  name = 'OrderTotalsAsMoney1765300000000';

  async up(db: QueryRunner): Promise<void> {
    // No append, and no second run of this migration, between the rewrite and the constraint.
    await db.query(`LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE`);
    await db.query(
      `UPDATE events t
       SET schema_version = 2,
           payload = jsonb_set(t.payload, '{total}', jsonb_build_object('amount', t.payload -> 'total', 'currency', placed.currency))
       FROM (SELECT stream_id, CASE WHEN schema_version = 1 THEN payload -> 'currency' ELSE payload -> 'total' -> 'currency' END AS currency
             FROM events WHERE event_type = 'OrderPlaced') AS placed
       WHERE t.event_type = ANY($1::text[]) AND t.schema_version = 1
         AND placed.stream_id = t.stream_id AND jsonb_typeof(placed.currency) = 'string'`,
      [TYPES],
    );
    await refuseRowsWithoutCurrency(db);
    // NOT VALID: the rows were all checked just above, and validating would scan the table again
    // under this statement's ACCESS EXCLUSIVE lock. New and changed rows are checked all the same.
    const [exists] = await db.query(`SELECT 1 FROM pg_constraint WHERE conname = $1 AND conrelid = 'events'::regclass`, [CONSTRAINT]);
    if (!exists) {
      await db.query(
        `ALTER TABLE events ADD CONSTRAINT ${CONSTRAINT}
         CHECK (schema_version >= 2 OR event_type NOT IN (${TYPES.map((type) => `'${type}'`).join(', ')})) NOT VALID`,
      );
    }
  }

  /**
   * Back to v1 for the previous version: `total` is its `amount` again, exactly the payload the row
   * had before `up` (jsonb keeps no key order), and v2 rows written since lose their currency,
   * which their order's OrderPlaced holds. Costs one scan and a new version of each changed row.
   */
  async down(db: QueryRunner): Promise<void> {
    await db.query(`LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE`);
    await db.query(`ALTER TABLE events DROP CONSTRAINT IF EXISTS ${CONSTRAINT}`);
    await db.query(
      `UPDATE events SET schema_version = 1, payload = jsonb_set(payload, '{total}', payload -> 'total' -> 'amount')
       WHERE event_type = ANY($1::text[]) AND schema_version = 2`,
      [TYPES],
    );
  }
}

/** After the rewrite, a v1 row left is one whose stream has no OrderPlaced with a currency: the migration fails, naming them. */
async function refuseRowsWithoutCurrency(db: QueryRunner): Promise<void> {
  const left: Array<{ eventType: string; eventId: string; streamId: string; count: string }> = await db.query(
    `SELECT event_type AS "eventType", event_id AS "eventId", stream_id AS "streamId", count(*) OVER () AS count
     FROM events WHERE event_type = ANY($1::text[]) AND schema_version = 1
     ORDER BY position LIMIT 5`,
    [TYPES],
  );
  if (left.length === 0) return;
  const named = left.map(({ eventType, eventId, streamId }) => `${eventType} ${eventId} of stream ${streamId}`).join(', ');
  throw new Error(
    `OrderTotalsAsMoney: ${left[0].count} ${TYPES.join('/')} event(s) of schema version 1 have no OrderPlaced with a currency in their stream ` +
      `(${named}${Number(left[0].count) > left.length ? ', …' : ''}), so their total cannot become Money. Nothing was changed. ` +
      `Find out what removed or broke those streams' OrderPlaced (restore it from a backup), then start again`,
  );
}
