import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finds the events of one correlation id (GET /flows/{correlationId}) without reading the store,
 * in append order: the position follows the correlation id in the key, so the first 1,001 events
 * of an id thousands of events share (a batch job's) are one range of the index, where an index of
 * the id alone made PostgreSQL walk the whole table in position order instead. The index is
 * maintained by the statement that appends the events: no statement of its own.
 * Generated correlation ids are UUIDv7 (time-ordered), so its entries land at the right edge.
 * Built CONCURRENTLY, outside a transaction: the events table may be large, and a plain CREATE
 * INDEX would block every append for the whole build. A build that failed half-way leaves an
 * invalid index behind, which is dropped and built again.
 */
export class EventsCorrelationIdIndex1765100100000 implements MigrationInterface {
  name = 'EventsCorrelationIdIndex1765100100000';
  transaction = false;

  async up(db: QueryRunner): Promise<void> {
    const [invalid] = await db.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE c.relname = 'events_correlation_id_idx' AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid`,
    );
    if (invalid) await db.query(`DROP INDEX CONCURRENTLY events_correlation_id_idx`);
    await db.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS events_correlation_id_idx ON events ((metadata ->> 'correlationId'), position)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX CONCURRENTLY IF EXISTS events_correlation_id_idx`);
  }
}
