import { MigrationInterface, QueryRunner } from 'typeorm';

export class IdempotencyKeys1763880100000 implements MigrationInterface {
  name = 'IdempotencyKeys1763880100000';

  async up(db: QueryRunner): Promise<void> {
    // One row per (request target, Idempotency-Key), written in the same transaction as the
    // request's effect, so a replay returns the stored response and never repeats the effect.
    await db.query(`
      CREATE TABLE idempotency_keys (
        scope             text        NOT NULL,
        key               text        NOT NULL,
        request_hash      text        NOT NULL,
        response_status   integer     NOT NULL,
        response_body     jsonb,
        response_location text,
        created_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      )`);
    await db.query(`CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE idempotency_keys`);
  }
}
