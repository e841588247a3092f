import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A subscription's checkpoint becomes one row per segment (src/event-store/segments): `segment`
 * of `segments`, so that several API processes split one projection or reaction between them.
 * Every existing checkpoint becomes segment 0 of 1, at the same position, with its failure and
 * `starts_after`: nothing is replayed or skipped, and a process started with
 * SUBSCRIPTION_SEGMENTS=1 (the default) behaves exactly as before. A process started with more
 * segments splits each one at start (every new segment at the old position: see resegment()).
 */
export class SubscriptionSegments1764900000000 implements MigrationInterface {
  name = 'SubscriptionSegments1764900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE subscription_checkpoints
        ADD COLUMN segment  integer NOT NULL DEFAULT 0,
        ADD COLUMN segments integer NOT NULL DEFAULT 1,
        ADD CONSTRAINT subscription_checkpoints_segment_check CHECK (segment >= 0 AND segment < segments)`);
    await db.query(`ALTER TABLE subscription_checkpoints DROP CONSTRAINT subscription_checkpoints_pkey`);
    await db.query(`ALTER TABLE subscription_checkpoints ADD PRIMARY KEY (subscription_id, segment)`);
  }

  async down(db: QueryRunner): Promise<void> {
    // Back to one row per subscription: its least advanced segment (reactions' receipts pass over
    // what was done; a projection split into segments may apply an event again, which the
    // projectors of this project ignore: a row only moves forward in stream version).
    await db.query(`
      UPDATE subscription_checkpoints c SET global_position = m.lowest FROM (
        SELECT subscription_id, min(global_position) AS lowest FROM subscription_checkpoints GROUP BY subscription_id
      ) AS m
      WHERE c.subscription_id = m.subscription_id AND c.segment = 0`);
    await db.query(`DELETE FROM subscription_checkpoints WHERE segment > 0`);
    await db.query(`ALTER TABLE subscription_checkpoints DROP CONSTRAINT subscription_checkpoints_pkey`);
    await db.query(`ALTER TABLE subscription_checkpoints DROP CONSTRAINT subscription_checkpoints_segment_check`);
    await db.query(`ALTER TABLE subscription_checkpoints DROP COLUMN segment, DROP COLUMN segments`);
    await db.query(`ALTER TABLE subscription_checkpoints ADD PRIMARY KEY (subscription_id)`);
  }
}
