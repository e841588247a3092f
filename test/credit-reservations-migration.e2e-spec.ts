import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { migrations } from '../migrations';
import { CreditReservationsTable1765300200000 } from '../migrations/1765300200000-CreditReservationsTable';
import { dropDatabase } from '../src/database/ensure-database';
import { createTestDatabase, undoMigrationsDownTo, withMigrationsOn } from './support/test-database';

/**
 * The upgrade that moves open credit reservations from the users row's jsonb map to rows of their
 * own (migrations/1765300200000-CreditReservationsTable.ts): every reservation comes over with its
 * amount (past 2^31 too), the column goes, and down folds the rows back into the exact map.
 */
const BEFORE = migrations.slice(0, migrations.indexOf(CreditReservationsTable1765300200000));
/** Up to this one: a later migration must not change what this test sees. */
const THROUGH = migrations.slice(0, migrations.indexOf(CreditReservationsTable1765300200000) + 1);

let url: string;
let db: Client;
beforeAll(async () => {
  url = await createTestDatabase();
  db = new Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  if (url) await dropDatabase(url);
});

async function insertUser(reservations: Record<string, number>): Promise<string> {
  const id = randomUUID();
  const reserved = Object.values(reservations).reduce((sum, amount) => sum + amount, 0);
  await db.query(
    `INSERT INTO users (id, email, name, status, credit_limit, credit_reserved, credit_reservations, version, created_at, updated_at)
     VALUES ($1, $2, 'A', 'ACTIVE', 100000000000, $3, $4, 1, now(), now())`,
    [id, `${id}@example.com`, reserved, JSON.stringify(reservations)],
  );
  return id;
}

it('moves every open reservation to its own row, drops the column, and down restores the exact maps', async () => {
  await withMigrationsOn(url, BEFORE, (dataSource) => dataSource.runMigrations());
  const [a1, a2, b1] = [randomUUID(), randomUUID(), randomUUID()];
  const maps = { many: { [a1]: 1_250, [a2]: 4_999_999_950 }, one: { [b1]: 0 }, none: {} };
  const ids = { many: await insertUser(maps.many), one: await insertUser(maps.one), none: await insertUser(maps.none) };
  const rowsBefore = (await db.query(`SELECT * FROM users ORDER BY id`)).rows;

  await withMigrationsOn(url, THROUGH, (dataSource) => dataSource.runMigrations());
  const { rows } = await db.query(`SELECT user_id, order_id, amount FROM credit_reservations ORDER BY amount`);
  expect(rows).toEqual([
    { user_id: ids.one, order_id: b1, amount: '0' },
    { user_id: ids.many, order_id: a1, amount: '1250' },
    { user_id: ids.many, order_id: a2, amount: '4999999950' },
  ]);
  const column = await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'credit_reservations'`);
  expect(column.rows).toEqual([]);

  await withMigrationsOn(url, THROUGH, (dataSource) => undoMigrationsDownTo(dataSource, new CreditReservationsTable1765300200000()));
  expect((await db.query(`SELECT * FROM users ORDER BY id`)).rows).toEqual(rowsBefore);
  expect((await db.query(`SELECT to_regclass('credit_reservations') IS NULL AS gone`)).rows).toEqual([{ gone: true }]);
});
