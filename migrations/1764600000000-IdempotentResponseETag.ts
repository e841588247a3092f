import { MigrationInterface, QueryRunner } from 'typeorm';

export class IdempotentResponseETag1764600000000 implements MigrationInterface {
  name = 'IdempotentResponseETag1764600000000';

  async up(db: QueryRunner): Promise<void> {
    // A replay repeats the first response's ETag (the stream version that request produced), as
    // it repeats its Location. Keys stored before have none, and their replays carry none.
    await db.query(`ALTER TABLE idempotency_keys ADD COLUMN response_etag text`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE idempotency_keys DROP COLUMN response_etag`);
  }
}
