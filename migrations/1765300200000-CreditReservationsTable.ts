import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A user's open credit reservations move from a jsonb map on the users row
 * (`credit_reservations`, order id → amount) to a table of their own, one row per open
 * reservation. The map held every open order of the customer, and every credit step read it,
 * copied it and wrote it back whole: the cost of reserving credit grew with the customer's open
 * orders (a customer with 10,000 of them wrote about half a megabyte per order). A step now loads
 * the one reservation it concerns (UserRepository.getForOrderCredit) and inserts or deletes that
 * row in the save's one statement; `users.credit_reserved` stays the sum.
 *
 * The users table is locked first, so that no save of a process still running slips between the
 * copy and the drop; an API process of the previous version then fails loudly on the missing
 * column: stop the previous version first, as for every upgrade. The lock also stops reads of
 * users for as long as the migration runs, so the copy goes into a table without keys, which are
 * built once after it instead of checked row by row: 100,000 users × 20 reservations (2,000,000
 * rows) took 12 to 16 s here, against 20 to 28 s with the keys in place during the copy (this
 * machine, busy with other tests; scratch timing of the migration alone).
 *
 * A map the app could not have written (an order id that is not a uuid, an amount that is not a
 * whole non-negative number, a map that is not an object) fails the copy, and so the migration
 * with nothing changed; the error then names its users, which the cast's own error does not. They
 * are looked for only then: a scan of every map up front cost 9 s more on the 2,000,000 above.
 */
export class CreditReservationsTable1765300200000 implements MigrationInterface {
  name = 'CreditReservationsTable1765300200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`);
    await db.query(`
      CREATE TABLE credit_reservations (
        user_id uuid NOT NULL,
        order_id uuid NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0)
      )`);
    // An amount as the app wrote it (1250), or as a JSON string of digits ("1250").
    await db.query(`SAVEPOINT copy_reservations`);
    try {
      await db.query(`
        INSERT INTO credit_reservations (user_id, order_id, amount)
        SELECT u.id, r.key::uuid, (r.value #>> '{}')::bigint FROM users u CROSS JOIN LATERAL jsonb_each(u.credit_reservations) AS r`);
    } catch (error) {
      await db.query(`ROLLBACK TO SAVEPOINT copy_reservations`);
      throw await refusalNamingUsers(db, error);
    }
    await db.query(`ALTER TABLE credit_reservations ADD PRIMARY KEY (user_id, order_id)`);
    await db.query(`ALTER TABLE credit_reservations ADD FOREIGN KEY (user_id) REFERENCES users (id)`);
    await db.query(`ALTER TABLE users DROP COLUMN credit_reservations`);
  }

  /** Back to the map: each user's rows folded into it (an empty map without any). */
  async down(db: QueryRunner): Promise<void> {
    await db.query(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`);
    await db.query(`ALTER TABLE users ADD COLUMN credit_reservations jsonb NOT NULL DEFAULT '{}'`);
    await db.query(`
      UPDATE users u SET credit_reservations = r.map
      FROM (SELECT user_id, jsonb_object_agg(order_id::text, amount) AS map FROM credit_reservations GROUP BY user_id) AS r
      WHERE r.user_id = u.id`);
    await db.query(`DROP TABLE credit_reservations`);
  }
}

/** Users named in the refusal, at most. */
const NAMED = 20;

/** The error to fail with: one naming the users (up to NAMED) whose map is not order uuid → whole non-negative amount, else `copyError`. */
async function refusalNamingUsers(db: QueryRunner, copyError: unknown): Promise<unknown> {
  // CASE, not OR: jsonb_each fails on a map that is not an object, and OR may evaluate it first.
  const rows: Array<{ id: string }> = await db.query(
    `SELECT u.id FROM users u
     WHERE CASE WHEN jsonb_typeof(u.credit_reservations) <> 'object' THEN true
       ELSE EXISTS (SELECT 1 FROM jsonb_each(u.credit_reservations) AS r
         WHERE r.key !~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
           OR jsonb_typeof(r.value) NOT IN ('number', 'string')
           OR (r.value #>> '{}') !~ '^[0-9]{1,18}$')
       END
     ORDER BY u.id LIMIT ${NAMED}`,
  );
  if (rows.length === 0) return copyError;
  return new Error(
    `the credit reservations of these users are not maps of order ids (uuids) to whole non-negative amounts, so they cannot move to ` +
      `credit_reservations: ${rows.map(({ id }) => id).join(', ')}${rows.length === NAMED ? ' (and maybe more)' : ''}; correct them, then migrate again ` +
      `(the copy failed with: ${(copyError as Error).message})`,
  );
}
