import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { TestApp } from './test-app';

export function uniqueEmail(prefix = 'user'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}@example.com`;
}

export async function registerUser(app: TestApp, body: Record<string, unknown> = {}): Promise<string> {
  const response = await app
    .http()
    .post('/users')
    .send({ email: uniqueEmail(), name: 'Ada Lovelace', ...body })
    .expect(201);
  return response.body.id;
}

export const twoLines = [
  { sku: 'BOOK-1', quantity: 2, unitPrice: 1250 },
  { sku: 'PEN-7', quantity: 3, unitPrice: 199 },
];

export async function placeOrder(app: TestApp, customerId: string, lines = twoLines): Promise<string> {
  const response = await app.http().post('/orders').send({ customerId, currency: 'EUR', lines }).expect(202);
  return response.body.id;
}

export async function countRows(app: TestApp, table: string): Promise<number> {
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM ${table}`);
  return n;
}

/**
 * Holds a lock on the user's write-model row from a connection of its own, as a long
 * transaction elsewhere would: every command on that user (the saga's credit step too) waits
 * until `release()`.
 */
export async function lockUserRow(app: TestApp, userId: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: app.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
  return {
    async release() {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

/**
 * A fault in the `order_summaries` projection: its rows for the orders listed in
 * `broken_orders` are refused (as a constraint added by a bad deploy would); deleting an id
 * from that table fixes the cause.
 */
export async function refuseOrderSummariesOfBrokenOrders(app: TestApp): Promise<void> {
  await app.db.query(`CREATE TABLE broken_orders (id uuid PRIMARY KEY)`);
  await app.db.query(`
    CREATE FUNCTION refuse_broken_orders() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM broken_orders WHERE id = NEW.id) THEN
        RAISE EXCEPTION 'order % cannot be projected (test fault)', NEW.id;
      END IF;
      RETURN NEW;
    END $$`);
  await app.db.query(`CREATE TRIGGER refuse_broken_orders BEFORE INSERT ON order_summaries FOR EACH ROW EXECUTE FUNCTION refuse_broken_orders()`);
}
