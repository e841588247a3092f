import { MigrationInterface, QueryRunner } from 'typeorm';
import { refuseWhileUserProfilesRuns } from './previous-version-running';

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
 * Cost. No index covers event_type, so nothing cheaper than a scan finds the rows (building an
 * index would itself scan). The UPDATE is one statement: PostgreSQL scans events once for the
 * OrderPlaced rows and, for each, fetches its stream's rows through the existing unique index
 * (stream_id, stream_version) (a nested loop, EXPLAIN on 10 M events); it writes a new version of
 * every changed row, with an entry in every index of events (the pages are full, so no HOT
 * update). The check for rows left is one more sequential scan. Measured here (2 cores,
 * shared_buffers 128 MB, 23 GB RAM) on `npm run fill-store` 10,000,081 events (7.7 GB with
 * indexes), 3,685,428 rows to change: up 136 s (the check 7 s of it), 8 GB of WAL, the table 2 GB
 * larger (the old versions, reusable after VACUUM); down 182 s, 11.5 GB of WAL. Linear in the
 * store's size. Appends wait for the whole run (SHARE ROW EXCLUSIVE; reads go on, but for a
 * moment at the end, when the constraint's ACCESS EXCLUSIVE lock waits for open reads): run it with
 * the API processes of the previous version stopped, as the upgrade procedure says, then
 * `VACUUM (ANALYZE) events`.
 */
export class OrderTotalsAsMoney1765300000000 implements MigrationInterface {
  name = 'OrderTotalsAsMoney1765300000000';

  async up(db: QueryRunner): Promise<void> {
    // A process of the previous version would go on writing and publishing v1 totals beside the
    // rewritten rows: refused before anything changes.
    await refuseWhileUserProfilesRuns(db, 'this version rewrites the order totals');
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
    // MATERIALIZED: one sequential scan, where ORDER BY position … LIMIT alone walks the whole primary key index.
    `WITH left_over AS MATERIALIZED (
       SELECT position, event_type, event_id, stream_id FROM events WHERE event_type = ANY($1::text[]) AND schema_version = 1
     )
     SELECT event_type AS "eventType", event_id AS "eventId", stream_id AS "streamId", (SELECT count(*) FROM left_over) AS count
     FROM left_over ORDER BY position LIMIT 5`,
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
