import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The index InboxRetention prunes by (the oldest `applied_at` first). Built CONCURRENTLY, outside
 * a transaction: the table it lands on may be large already (the inbox grew unpruned until now),
 * and a plain CREATE INDEX would block every consumer's inbox writes for the whole build. A build
 * that failed half-way leaves an invalid index behind, which is dropped and built again.
 */
export class InboxAppliedAtIndex1765000000000 implements MigrationInterface {
  name = 'InboxAppliedAtIndex1765000000000';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    const [invalid] = await db.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = 'inbox_applied_at_idx' AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid`,
    );
    if (invalid) await db.query(`DROP INDEX CONCURRENTLY inbox_applied_at_idx`);
    await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS inbox_applied_at_idx ON inbox (applied_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS inbox_applied_at_idx`);
  }
}
