import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A reader stopped by an event it cannot apply says so where every process, /health and the
 * operator's CLI can see it (src/event-store/subscription/subscription-failures.ts): which event,
 * the last error, how many attempts, since when. The failure belongs to the checkpoint row, and a
 * trigger clears it as soon as the checkpoint passes that event, whoever moves it (the reader
 * after a fix, a rebuild, `npm run subscriptions -- skip`), at no extra statement per batch.
 * Skips are kept in `skipped_events`: who skipped which event of which reader, when and why.
 */
export class SubscriptionFailures1764700000000 implements MigrationInterface {
  name = 'SubscriptionFailures1764700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE subscription_checkpoints
        ADD COLUMN failing_event_id        uuid,
        ADD COLUMN failing_global_position bigint,
        ADD COLUMN failing_event_type      text,
        ADD COLUMN last_error              text,
        ADD COLUMN failed_attempts         integer NOT NULL DEFAULT 0,
        ADD COLUMN failing_since           timestamptz,
        ADD COLUMN last_failed_at          timestamptz`);
    await db.query(`
      CREATE FUNCTION clear_passed_subscription_failure() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.failing_event_id := NULL;
        NEW.failing_global_position := NULL;
        NEW.failing_event_type := NULL;
        NEW.last_error := NULL;
        NEW.failed_attempts := 0;
        NEW.failing_since := NULL;
        NEW.last_failed_at := NULL;
        RETURN NEW;
      END $$`);
    // The WHEN is evaluated without calling the function: a checkpoint with no failure (NULL)
    // pays nothing for it.
    await db.query(`
      CREATE TRIGGER subscription_failure_passed BEFORE UPDATE OF global_position ON subscription_checkpoints
      FOR EACH ROW WHEN (NEW.global_position >= NEW.failing_global_position)
      EXECUTE FUNCTION clear_passed_subscription_failure()`);

    await db.query(`
      CREATE TABLE skipped_events (
        id                bigserial   PRIMARY KEY,
        subscription_id   text        NOT NULL,
        event_id          uuid        NOT NULL,
        global_position   bigint      NOT NULL,
        event_type        text        NOT NULL,
        last_error        text,
        failed_attempts   integer     NOT NULL,
        failing_since     timestamptz,
        skipped_by        text        NOT NULL,
        reason            text        NOT NULL,
        skipped_at        timestamptz NOT NULL DEFAULT clock_timestamp()
      )`);
    await db.query(`CREATE INDEX skipped_events_subscription_idx ON skipped_events (subscription_id, skipped_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE skipped_events`);
    await db.query(`DROP TRIGGER subscription_failure_passed ON subscription_checkpoints`);
    await db.query(`DROP FUNCTION clear_passed_subscription_failure()`);
    await db.query(`
      ALTER TABLE subscription_checkpoints
        DROP COLUMN failing_event_id, DROP COLUMN failing_global_position, DROP COLUMN failing_event_type,
        DROP COLUMN last_error, DROP COLUMN failed_attempts, DROP COLUMN failing_since, DROP COLUMN last_failed_at`);
  }
}
