import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An operator can pause a reader of the event store (a projection, a reaction, the relay) and
 * resume it later (src/event-store/subscription/subscription-pauses.ts). A pause is a row here,
 * apart from the checkpoint rows, so that it outlives a re-split into segments and a restart of
 * every process: each reader looks for it in the statement that reads its next batch.
 */
export class SubscriptionPauses1765000000000 implements MigrationInterface {
  name = 'SubscriptionPauses1765000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE paused_subscriptions (
        subscription_id text        PRIMARY KEY,
        paused_by       text        NOT NULL,
        reason          text        NOT NULL,
        paused_at       timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE paused_subscriptions`);
  }
}
