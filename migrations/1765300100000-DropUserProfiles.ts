import { MigrationInterface, QueryRunner } from 'typeorm';
import { refuseWhileUserProfilesRuns } from './previous-version-running';

const SUBSCRIPTION = 'projection:user-profiles';

/**
 * The `user_profiles` projection goes: it was a column-for-column copy of `users`, and nothing read
 * it (`GET /users/{id}` reads the user's own row, which is never behind its command). A projection
 * earns its place with a view the write row cannot serve, as `order_summaries` does for the order
 * lists; a list of users would be the one to bring it back.
 *
 * With it go its reader's state, keyed by its subscription id: the checkpoint rows (and the
 * failure recorded on them), which /health, the admin API and admission control would otherwise
 * report as a reader falling ever further behind, and its pause. A `_rebuild` table left by an
 * interrupted rebuild goes too. What is history stays: `skipped_events` (who skipped which event,
 * and why) and `projection_rebuild_jobs` (the rebuilds run) still say what happened.
 * A projection has no reaction receipts nor parked steps.
 *
 * An API process of the previous version still running the projection would go on applying
 * events to a table that is gone. The migration refuses while any other session holds the
 * projection's membership lock (SubscriptionLeases) or its rebuild lock (rebuild-lock.ts), and
 * holds both itself until it commits: stop every API process of the previous version first.
 */
export class DropUserProfiles1765300100000 implements MigrationInterface {
  name = 'DropUserProfiles1765300100000';

  async up(db: QueryRunner): Promise<void> {
    await refuseWhileUserProfilesRuns(db, 'this version drops user_profiles');
    await db.query(`DELETE FROM subscription_checkpoints WHERE subscription_id = $1`, [SUBSCRIPTION]);
    await db.query(`DELETE FROM paused_subscriptions WHERE subscription_id = $1`, [SUBSCRIPTION]);
    await db.query(`DROP TABLE IF EXISTS user_profiles_rebuild`);
    // IF EXISTS: a second process starting at the same moment may run this after the first committed.
    await db.query(`DROP TABLE IF EXISTS user_profiles`);
  }

  /**
   * Back to the previous version: the table as it was created, empty, and no checkpoint. It is
   * refilled from the event store by the previous version itself: its projector, finding no
   * checkpoint at start, creates one at the beginning of the store and replays every event
   * (nothing to do by hand). To refill it before the API starts (a large store), run the previous
   * version's `npm run rebuild-projections -- user-profiles`, which replays into the table and
   * leaves the checkpoint at the head. A pause the projection had is not brought back.
   */
  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE user_profiles (
        id              uuid        PRIMARY KEY,
        email           text        NOT NULL,
        name            text        NOT NULL,
        status          text        NOT NULL,
        credit_limit    bigint      NOT NULL,
        credit_reserved bigint      NOT NULL DEFAULT 0,
        version         integer     NOT NULL,
        registered_at   timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL
      )`);
  }
}
