import { randomUUID } from 'node:crypto';
import { DropUserProfiles1765300100000 } from '../migrations/1765300100000-DropUserProfiles';
import { migrationsAround, migrationTestDatabase } from './support/test-database';

/**
 * The upgrade that removes the `user_profiles` projection (migrations/1765300100000-DropUserProfiles.ts):
 * the table and its reader's state go, what is history stays, and it refuses while the previous
 * version still runs or rebuilds the projection. Down brings the empty table back.
 */
const SUBSCRIPTION = 'projection:user-profiles';
const MIGRATION = new DropUserProfiles1765300100000();
const { before: BEFORE, through: THROUGH } = migrationsAround(DropUserProfiles1765300100000);
const database = migrationTestDatabase();
const { withMigrations, holding } = database;

async function columnsOf(table: string): Promise<unknown[]> {
  const { rows } = await database.db.query(
    `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  return rows;
}

async function exists(table: string): Promise<boolean> {
  const { rows } = await database.db.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [table]);
  return rows[0].present;
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await database.db.query(sql, params);
  return rows[0].n;
}

it('drops user_profiles and its reader state, keeps the history, refuses while the previous version runs it, and comes back empty on down', async () => {
  // The previous version's schema, and what its user-profiles reader left: two segments, a
  // failure, a pause, a leftover rebuild copy, a skip and a rebuild job (history).
  await withMigrations(BEFORE, (dataSource) => dataSource.runMigrations());
  const columnsBefore = await columnsOf('user_profiles');
  expect(columnsBefore).toHaveLength(9);
  await database.db.query(
    `INSERT INTO user_profiles (id, email, name, status, credit_limit, credit_reserved, version, registered_at, updated_at)
     VALUES ($1, 'a@example.com', 'A', 'ACTIVE', 1000, 0, 1, now(), now())`,
    [randomUUID()],
  );
  await database.db.query(
    `INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position, failing_event_id, failing_global_position, failing_event_type, last_error, failed_attempts)
     VALUES ($1, 0, 2, 10, $2, 11, 'UserRegistered', 'boom', 3), ($1, 1, 2, 12, NULL, NULL, NULL, NULL, 0),
            ('projection:order-summaries', 0, 1, 12, NULL, NULL, NULL, NULL, 0)`,
    [SUBSCRIPTION, randomUUID()],
  );
  await database.db.query(`INSERT INTO paused_subscriptions (subscription_id, paused_by, reason) VALUES ($1, 'ops', 'maintenance'), ('projection:order-summaries', 'ops', 'maintenance')`, [SUBSCRIPTION]);
  await database.db.query(`CREATE TABLE user_profiles_rebuild (LIKE user_profiles INCLUDING ALL)`);
  await database.db.query(
    `INSERT INTO skipped_events (subscription_id, event_id, global_position, event_type, failed_attempts, skipped_by, reason)
     VALUES ($1, $2, 5, 'UserRegistered', 2, 'ops', 'bad event')`,
    [SUBSCRIPTION, randomUUID()],
  );
  await database.db.query(
    `INSERT INTO projection_rebuild_jobs (id, projection, status, batch_size, accept_differences, requested_by)
     VALUES ($1, 'user-profiles', 'completed', 1000, false, 'ops')`,
    [randomUUID()],
  );

  // A process of the previous version runs the projection (its membership lock, shared): refused.
  const running = await holding(`SELECT pg_advisory_lock_shared(hashtext($1), 2)`, [`${SUBSCRIPTION}/2`]);
  await expect(withMigrations(THROUGH, (dataSource) => dataSource.runMigrations())).rejects.toThrow(/stop the API processes of the previous version/);
  expect(await exists('user_profiles')).toBe(true);
  expect(await count(`SELECT count(*)::int AS n FROM subscription_checkpoints WHERE subscription_id = $1`, [SUBSCRIPTION])).toBe(2);
  await running.end();

  // A rebuild of it runs (its rebuild lock): refused too.
  const rebuilding = await holding(`SELECT pg_advisory_lock(hashtext($1))`, ['projection-rebuild:user-profiles']);
  await expect(withMigrations(THROUGH, (dataSource) => dataSource.runMigrations())).rejects.toThrow(/any rebuild of user-profiles/);
  expect(await exists('user_profiles')).toBe(true);
  await rebuilding.end();

  // Stopped: it runs.
  const applied = await withMigrations(THROUGH, (dataSource) => dataSource.runMigrations());
  expect(applied.map(({ name }) => name)).toEqual([MIGRATION.name]);
  expect(await exists('user_profiles')).toBe(false);
  expect(await exists('user_profiles_rebuild')).toBe(false);
  expect(await count(`SELECT count(*)::int AS n FROM subscription_checkpoints WHERE subscription_id = $1`, [SUBSCRIPTION])).toBe(0);
  expect(await count(`SELECT count(*)::int AS n FROM paused_subscriptions WHERE subscription_id = $1`, [SUBSCRIPTION])).toBe(0);
  // History stays; other readers are untouched.
  expect(await count(`SELECT count(*)::int AS n FROM skipped_events WHERE subscription_id = $1`, [SUBSCRIPTION])).toBe(1);
  expect(await count(`SELECT count(*)::int AS n FROM projection_rebuild_jobs WHERE projection = 'user-profiles'`)).toBe(1);
  expect(await count(`SELECT count(*)::int AS n FROM subscription_checkpoints WHERE subscription_id = 'projection:order-summaries'`)).toBe(1);
  expect(await count(`SELECT count(*)::int AS n FROM paused_subscriptions WHERE subscription_id = 'projection:order-summaries'`)).toBe(1);

  // Down: the table as the previous version created it, empty, with no checkpoint (its projector
  // starts from the beginning of the store).
  await withMigrations(THROUGH, (dataSource) => dataSource.undoLastMigration({ transaction: 'each' }));
  expect(await columnsOf('user_profiles')).toEqual(columnsBefore);
  expect(await count(`SELECT count(*)::int AS n FROM user_profiles`)).toBe(0);
  expect(await count(`SELECT count(*)::int AS n FROM subscription_checkpoints WHERE subscription_id = $1`, [SUBSCRIPTION])).toBe(0);

  // And up again.
  const reapplied = await withMigrations(THROUGH, (dataSource) => dataSource.runMigrations());
  expect(reapplied.map(({ name }) => name)).toEqual([MIGRATION.name]);
  expect(await exists('user_profiles')).toBe(false);
});
