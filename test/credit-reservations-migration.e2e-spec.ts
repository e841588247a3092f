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

describe('maps the move cannot take as they are', () => {
  // Each starts and ends before the migration: a refused run changes nothing.
  beforeAll(() => withMigrationsOn(url, BEFORE, (dataSource) => dataSource.runMigrations()));

  async function insertRawUser(mapJson: string): Promise<string> {
    const id = randomUUID();
    await db.query(
      `INSERT INTO users (id, email, name, status, credit_limit, credit_reserved, credit_reservations, version, created_at, updated_at)
       VALUES ($1, $2, 'A', 'ACTIVE', 100000, 0, $3::jsonb, 1, now(), now())`,
      [id, `${id}@example.com`, mapJson],
    );
    return id;
  }

  const order = '0193a1c2-7d4e-7a10-8f00-000000000001';
  it.each([
    ['an order id that is not a uuid', `{"order-1": 100}`],
    ['an amount with a fraction', `{"${order}": 1250.5}`],
    ['an amount written with a zero fraction', `{"${order}": 300.0}`],
    ['a negative amount', `{"${order}": -5}`],
    ['a null amount', `{"${order}": null}`],
    ['an amount that is not a number', `{"${order}": "lots"}`],
    ['a JSON null for the map', `null`],
    ['an array for the map', `[]`],
  ])('refuses %s, naming the user, and changes nothing', async (_, mapJson) => {
    const good = await insertUser({ [randomUUID()]: 10 });
    const bad = await insertRawUser(mapJson);
    try {
      await expect(withMigrationsOn(url, THROUGH, (dataSource) => dataSource.runMigrations())).rejects.toThrow(bad);
      expect((await db.query(`SELECT to_regclass('credit_reservations') IS NULL AS absent`)).rows).toEqual([{ absent: true }]);
      const [{ map }] = (await db.query(`SELECT credit_reservations::text AS map FROM users WHERE id = $1`, [bad])).rows;
      expect(JSON.parse(map)).toEqual(JSON.parse(mapJson));
    } finally {
      await db.query(`DELETE FROM users WHERE id = ANY($1)`, [[good, bad]]);
    }
  });

  it('moves amounts written as JSON strings of digits, as numbers', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const id = await insertRawUser(`{"${a}": "1250", "${b}": 300}`);
    try {
      await withMigrationsOn(url, THROUGH, (dataSource) => dataSource.runMigrations());
      const { rows } = await db.query(`SELECT order_id, amount::int AS amount FROM credit_reservations WHERE user_id = $1 ORDER BY amount`, [id]);
      expect(rows).toEqual([
        { order_id: b, amount: 300 },
        { order_id: a, amount: 1250 },
      ]);
      await withMigrationsOn(url, THROUGH, (dataSource) => undoMigrationsDownTo(dataSource, new CreditReservationsTable1765300200000()));
    } finally {
      await db.query(`DELETE FROM users WHERE id = $1`, [id]);
    }
  });

  it('the table it leaves has its keys: one row per order of a user, only for a user that exists, no negative amount', async () => {
    const id = await insertUser({ [randomUUID()]: 10 });
    await withMigrationsOn(url, THROUGH, (dataSource) => dataSource.runMigrations());
    try {
      const [orderId] = (await db.query(`SELECT order_id FROM credit_reservations WHERE user_id = $1`, [id])).rows.map((row) => row.order_id);
      await expect(db.query(`INSERT INTO credit_reservations VALUES ($1, $2, 5)`, [id, orderId])).rejects.toMatchObject({ code: '23505' });
      await expect(db.query(`INSERT INTO credit_reservations VALUES ($1, $2, 5)`, [randomUUID(), randomUUID()])).rejects.toMatchObject({ code: '23503' });
      await expect(db.query(`INSERT INTO credit_reservations VALUES ($1, $2, -1)`, [id, randomUUID()])).rejects.toMatchObject({ code: '23514' });
      await withMigrationsOn(url, THROUGH, (dataSource) => undoMigrationsDownTo(dataSource, new CreditReservationsTable1765300200000()));
    } finally {
      await db.query(`DELETE FROM users WHERE id = $1`, [id]);
    }
  });

  it('down folds back the rows as they are at the time, those made and closed after the upgrade, and users registered since', async () => {
    const [kept, closed, opened] = [randomUUID(), randomUUID(), randomUUID()];
    const old = await insertUser({ [kept]: 100, [closed]: 200 });
    await withMigrationsOn(url, THROUGH, (dataSource) => dataSource.runMigrations());
    // What the new version's saves do: a reservation closed, one opened, a user registered with one.
    const newcomer = randomUUID();
    await db.query(
      `INSERT INTO users (id, email, name, status, credit_limit, credit_reserved, version, created_at, updated_at)
       VALUES ($1, $2, 'B', 'ACTIVE', 100000, 50, 2, now(), now())`,
      [newcomer, `${newcomer}@example.com`],
    );
    const idle = randomUUID();
    await db.query(
      `INSERT INTO users (id, email, name, status, credit_limit, credit_reserved, version, created_at, updated_at)
       VALUES ($1, $2, 'C', 'ACTIVE', 100000, 0, 1, now(), now())`,
      [idle, `${idle}@example.com`],
    );
    await db.query(`DELETE FROM credit_reservations WHERE order_id = $1`, [closed]);
    await db.query(`INSERT INTO credit_reservations (user_id, order_id, amount) VALUES ($1, $2, 7), ($3, $4, 50)`, [old, opened, newcomer, randomUUID()]);

    await withMigrationsOn(url, THROUGH, (dataSource) => undoMigrationsDownTo(dataSource, new CreditReservationsTable1765300200000()));
    const maps = Object.fromEntries(
      (await db.query(`SELECT id, credit_reservations AS map FROM users WHERE id = ANY($1)`, [[old, newcomer, idle]])).rows.map(({ id, map }) => [id, map]),
    );
    expect(maps[old]).toEqual({ [kept]: 100, [opened]: 7 });
    expect(Object.values(maps[newcomer])).toEqual([50]);
    expect(maps[idle]).toEqual({});
    await db.query(`DELETE FROM users WHERE id = ANY($1)`, [[old, newcomer, idle]]);
  });
});
