import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Commit-ordered positions that nothing but the cluster's own data decides (see EventSequencer).
 *
 * Events get a `global_position`, handed out after commit by the one fenced sequencer; every
 * reader goes by it, and every checkpoint is one. Events already stored are numbered here in the
 * order readers delivered them so far, (transaction id, position), and each checkpoint becomes the
 * global position of the last event at or before it, so no reader skips or repeats anything
 * across the upgrade. Afterwards nothing stored is a transaction id: `events.transaction_id` and
 * the checkpoints' (transaction id, position) pairs are dropped, so a dump restored into another
 * cluster (whose transaction ids start over) resumes where it stopped.
 */
export class GlobalPositions1763880400000 implements MigrationInterface {
  name = 'GlobalPositions1763880400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE events ADD COLUMN global_position bigint`);
    await db.query(`
      UPDATE events SET global_position = numbered.n
      FROM (SELECT position, row_number() OVER (ORDER BY transaction_id, position) AS n FROM events) AS numbered
      WHERE events.position = numbered.position`);
    // Readers: `global_position > $checkpoint ORDER BY global_position`, and max() for the head.
    await db.query(`CREATE UNIQUE INDEX events_global_position_key ON events (global_position) WHERE global_position IS NOT NULL`);
    // The sequencer: committed events still waiting for their number, oldest append first.
    await db.query(`CREATE INDEX events_unsequenced_idx ON events (position) WHERE global_position IS NULL`);

    await db.query(`ALTER TABLE subscription_checkpoints ADD COLUMN global_position bigint NOT NULL DEFAULT 0`);
    await db.query(`
      UPDATE subscription_checkpoints c SET global_position = coalesce(
        (SELECT max(e.global_position) FROM events e WHERE (e.transaction_id, e.position) <= (c.transaction_id, c.position)), 0)`);
    await db.query(`ALTER TABLE subscription_checkpoints DROP COLUMN transaction_id, DROP COLUMN position`);
    await db.query(`DROP INDEX events_transaction_id_position_idx`);
    await db.query(`ALTER TABLE events DROP COLUMN transaction_id`);

    // Wakes the reactions when an operator asks to retry parked ones (npm run parked-reactions -- retry).
    await db.query(`
      CREATE FUNCTION notify_parked_reactions_retry() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('parked_reactions_retry', '');
        RETURN NULL;
      END $$`);
    await db.query(`
      CREATE TRIGGER parked_reactions_retry AFTER UPDATE OF retry_requested_at ON parked_reactions
      FOR EACH STATEMENT EXECUTE FUNCTION notify_parked_reactions_retry()`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER parked_reactions_retry ON parked_reactions`);
    await db.query(`DROP FUNCTION notify_parked_reactions_retry()`);
    // Transaction ids are not recoverable: every event gets the id of this transaction, so the
    // old (transaction id, position) order falls back to the append order.
    await db.query(`ALTER TABLE events ADD COLUMN transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id()`);
    await db.query(`CREATE INDEX events_transaction_id_position_idx ON events (transaction_id, position)`);
    await db.query(`ALTER TABLE subscription_checkpoints ADD COLUMN transaction_id xid8 NOT NULL DEFAULT '0', ADD COLUMN position bigint NOT NULL DEFAULT 0`);
    await db.query(`
      UPDATE subscription_checkpoints c SET
        transaction_id = coalesce((SELECT e.transaction_id FROM events e WHERE e.global_position = c.global_position), '0'),
        position = coalesce((SELECT e.position FROM events e WHERE e.global_position = c.global_position), 0)`);
    await db.query(`ALTER TABLE subscription_checkpoints DROP COLUMN global_position`);
    await db.query(`DROP INDEX events_unsequenced_idx`);
    await db.query(`DROP INDEX events_global_position_key`);
    await db.query(`ALTER TABLE events DROP COLUMN global_position`);
  }
}
