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
 * column: stop the previous version first, as for every upgrade.
 */
export class CreditReservationsTable1765300200000 implements MigrationInterface {
  name = 'CreditReservationsTable1765300200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`);
    await db.query(`
      CREATE TABLE credit_reservations (
        user_id uuid NOT NULL REFERENCES users (id),
        order_id uuid NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        PRIMARY KEY (user_id, order_id)
      )`);
    await db.query(`
      INSERT INTO credit_reservations (user_id, order_id, amount)
      SELECT u.id, r.key::uuid, r.value::bigint FROM users u CROSS JOIN LATERAL jsonb_each_text(u.credit_reservations) AS r`);
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
