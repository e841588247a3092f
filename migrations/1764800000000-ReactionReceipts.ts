import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reactions become one subscription per class under an id given in code (`reaction:<id>`), with
 * a receipt per event (and per step, when one event asks for several) so that no reaction acts
 * on an event twice, whatever happens to its checkpoint.
 */
export class ReactionReceipts1764800000000 implements MigrationInterface {
  name = 'ReactionReceipts1764800000000';

  async up(db: QueryRunner): Promise<void> {
    // step '*': the reaction is done with the event as a whole; any other: that step took it.
    await db.query(`
      CREATE TABLE reaction_receipts (
        subscription_id text        NOT NULL,
        event_id        uuid        NOT NULL,
        step            text        NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subscription_id, event_id, step)
      )`);

    await db.query(`ALTER TABLE parked_reactions ADD COLUMN step text`);

    // A reaction never reads what came before it existed, not even after its checkpoint is reset
    // to 0: no receipt says what it did there (it started at the head, or ran as old code).
    await db.query(`ALTER TABLE subscription_checkpoints ADD COLUMN starts_after bigint NOT NULL DEFAULT 0`);

    // The saga's seven members had a checkpoint each (`reaction:OrderFulfilmentSaga.<member>`).
    // The one subscription resumes at the least advanced of them; the events a member was
    // already past get that member's receipt, so it does not act on them again.
    await db.query(`
      INSERT INTO subscription_checkpoints (subscription_id, global_position, starts_after)
      SELECT 'reaction:order-fulfilment', min(global_position), min(global_position) FROM subscription_checkpoints
      WHERE subscription_id LIKE 'reaction:OrderFulfilmentSaga.%'
      HAVING count(*) > 0`);
    await db.query(`
      INSERT INTO reaction_receipts (subscription_id, event_id, step)
      SELECT 'reaction:order-fulfilment', e.event_id, substr(c.subscription_id, length('reaction:OrderFulfilmentSaga.') + 1)
      FROM subscription_checkpoints c
      JOIN events e ON e.global_position > (SELECT global_position FROM subscription_checkpoints WHERE subscription_id = 'reaction:order-fulfilment')
                   AND e.global_position <= c.global_position
      WHERE c.subscription_id LIKE 'reaction:OrderFulfilmentSaga.%'`);
    await db.query(`
      UPDATE parked_reactions
      SET step = substr(reaction, length('reaction:OrderFulfilmentSaga.') + 1), reaction = 'reaction:order-fulfilment'
      WHERE reaction LIKE 'reaction:OrderFulfilmentSaga.%'`);
    await db.query(`DELETE FROM subscription_checkpoints WHERE subscription_id LIKE 'reaction:OrderFulfilmentSaga.%'`);

    // Old handler checkpoints: what they passed was acted on without receipts.
    await db.query(`UPDATE subscription_checkpoints SET starts_after = global_position WHERE subscription_id LIKE 'reaction:%'`);
    // Any other reaction was an @EventsHandler class: one step, 'handle'.
    await db.query(`UPDATE parked_reactions SET step = 'handle' WHERE step IS NULL`);
    await db.query(`ALTER TABLE parked_reactions ALTER COLUMN step SET NOT NULL`);
    await db.query(`ALTER TABLE parked_reactions DROP CONSTRAINT parked_reactions_pkey`);
    await db.query(`ALTER TABLE parked_reactions ADD PRIMARY KEY (reaction, event_id, step)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE parked_reactions DROP CONSTRAINT parked_reactions_pkey`);
    await db.query(`DELETE FROM parked_reactions a USING parked_reactions b WHERE a.reaction = b.reaction AND a.event_id = b.event_id AND a.step > b.step`);
    await db.query(`ALTER TABLE parked_reactions ADD PRIMARY KEY (reaction, event_id)`);
    await db.query(`ALTER TABLE parked_reactions DROP COLUMN step`);
    await db.query(`ALTER TABLE subscription_checkpoints DROP COLUMN starts_after`);
    await db.query(`DROP TABLE reaction_receipts`);
  }
}
