import { randomUUID } from 'node:crypto';
import { SEQUENCE_EVENTS_NUMBERING, SequenceEventsBatchByPosition1765500000000 } from '../migrations/1765500000000-SequenceEventsBatchByPosition';
import { migrationsAround, migrationTestDatabase, undoMigrationsDownTo } from './support/test-database';

/**
 * The upgrade that materializes the batch of `sequence_events`
 * (migrations/1765500000000-SequenceEventsBatchByPosition.ts): the function's numbering
 * statement becomes the exported one (which the tests EXPLAIN) and numbers as before, its grant
 * and settings kept; down restores the previous body to the character. The plan it fixes:
 * test/sequence-events-stale-statistics.e2e-spec.ts.
 */
const { before: BEFORE, through: THROUGH } = migrationsAround(SequenceEventsBatchByPosition1765500000000);
const database = migrationTestDatabase();

async function append(count: number): Promise<void> {
  await database.db.query(
    `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
     SELECT gen_random_uuid(), 'Test', $1::uuid, n, 'Tested', '{}', '{}' FROM generate_series(1, $2::int) AS n`,
    [randomUUID(), count],
  );
}

/** What defines the function beside its body: its settings, volatility and grants. */
async function sequenceEvents(): Promise<{ prosrc: string; proconfig: string[]; provolatile: string; proacl: string | null }> {
  const { rows } = await database.db.query(
    `SELECT prosrc, proconfig, provolatile, proacl::text AS proacl FROM pg_proc WHERE oid = 'sequence_events(integer)'::regprocedure`,
  );
  return rows[0];
}

it('makes the exported statement the numbering of sequence_events, which numbers as before; down restores the previous body', async () => {
  await database.withMigrations(BEFORE, (dataSource) => dataSource.runMigrations());
  const previous = await sequenceEvents();
  expect(previous.prosrc).not.toContain('MATERIALIZED');

  await database.withMigrations(THROUGH, (dataSource) => dataSource.runMigrations());
  const current = await sequenceEvents();
  expect(current.prosrc).toContain(`${SEQUENCE_EVENTS_NUMBERING} INTO numbered, head;`);
  expect(current.prosrc.replace(SEQUENCE_EVENTS_NUMBERING, '')).toBe(previous.prosrc.replace(/WITH tip AS[\s\S]*?(?= INTO numbered, head;)/, ''));
  expect({ ...current, prosrc: undefined }).toEqual({ ...previous, prosrc: undefined });

  await append(3);
  expect((await database.db.query(`SELECT numbered, head::text AS head FROM sequence_events(2)`)).rows).toEqual([{ numbered: 2, head: '2' }]);
  expect((await database.db.query(`SELECT numbered, head::text AS head FROM sequence_events(100)`)).rows).toEqual([{ numbered: 1, head: '3' }]);
  expect((await database.db.query(`SELECT numbered, head FROM sequence_events(100)`)).rows).toEqual([{ numbered: 0, head: null }]);

  await database.withMigrations(THROUGH, (dataSource) => undoMigrationsDownTo(dataSource, SequenceEventsBatchByPosition1765500000000));
  expect(await sequenceEvents()).toEqual(previous);
});
