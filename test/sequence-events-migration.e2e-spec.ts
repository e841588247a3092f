import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { SequenceEventsFunction1765400000000 } from '../migrations/1765400000000-SequenceEventsFunction';
import { migrationsAround, migrationTestDatabase, undoMigrationsDownTo } from './support/test-database';
import { previousVersionBatch } from './support/previous-version-sequencer';

/**
 * The upgrade that moves a sequencing batch into the function `sequence_events`
 * (migrations/1765400000000-SequenceEventsFunction.ts): after it the function numbers the oldest
 * unnumbered events after the head and NOTIFYs the new head; a sequencer of the previous version
 * numbers beside it on the same schema (a rolling deploy); down drops the function and leaves the
 * numbers.
 */
const { before: BEFORE, through: THROUGH } = migrationsAround(SequenceEventsFunction1765400000000);
const database = migrationTestDatabase();

async function append(count: number): Promise<void> {
  await database.db.query(
    `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
     SELECT gen_random_uuid(), 'Test', $1::uuid, n, 'Tested', '{}', '{}' FROM generate_series(1, $2::int) AS n`,
    [randomUUID(), count],
  );
}

async function numbersInPositionOrder(): Promise<Array<number | null>> {
  const { rows } = await database.db.query(`SELECT global_position::int AS n FROM events ORDER BY position`);
  return rows.map(({ n }) => n);
}

async function sequenceEventsExists(): Promise<boolean> {
  const { rows } = await database.db.query(`SELECT to_regprocedure('sequence_events(integer)') IS NOT NULL AS exists`);
  return rows[0].exists;
}

it('creates sequence_events, which numbers beside the previous version\'s statements and NOTIFYs the head; down drops it and keeps the numbers', async () => {
  await database.withMigrations(BEFORE, (dataSource) => dataSource.runMigrations());
  await append(2);
  expect(await previousVersionBatch(database.db, 100)).toBe(2);
  expect(await sequenceEventsExists()).toBe(false);

  await database.withMigrations(THROUGH, (dataSource) => dataSource.runMigrations());
  expect(await sequenceEventsExists()).toBe(true);
  const listener = new Client({ connectionString: database.url });
  await listener.connect();
  try {
    const heads: string[] = [];
    listener.on('notification', ({ channel, payload }) => channel === 'events_sequenced' && heads.push(payload ?? ''));
    await listener.query('LISTEN events_sequenced');

    await append(3);
    const { rows } = await database.db.query(`SELECT numbered, head::text AS head FROM sequence_events(2)`);
    expect(rows).toEqual([{ numbered: 2, head: '4' }]);
    expect(await previousVersionBatch(database.db, 100)).toBe(1);
    await append(1);
    expect((await database.db.query(`SELECT numbered, head FROM sequence_events(100)`)).rows).toEqual([{ numbered: 1, head: '6' }]);
    // Nothing waits: nothing numbered, no NOTIFY.
    expect((await database.db.query(`SELECT numbered, head FROM sequence_events(100)`)).rows).toEqual([{ numbered: 0, head: null }]);
    expect(await numbersInPositionOrder()).toEqual([1, 2, 3, 4, 5, 6]);
    await listener.query('SELECT 1'); // every NOTIFY committed before this answer has been delivered
    expect(heads).toEqual(['4', '5', '6']);

    await expect(database.db.query(`SELECT * FROM sequence_events(0)`)).rejects.toThrow('batch size must be a positive integer, got 0');
    await expect(database.db.query(`SELECT * FROM sequence_events(NULL)`)).rejects.toThrow('batch size must be a positive integer');
  } finally {
    await listener.end();
  }

  await database.withMigrations(THROUGH, (dataSource) => undoMigrationsDownTo(dataSource, SequenceEventsFunction1765400000000));
  expect(await sequenceEventsExists()).toBe(false);
  expect(await numbersInPositionOrder()).toEqual([1, 2, 3, 4, 5, 6]);
});
