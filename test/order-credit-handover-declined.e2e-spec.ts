import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { OrderCreditReaction1765200000000 } from '../migrations/1765200000000-OrderCreditReaction';
import { dropDatabase } from '../src/database/ensure-database';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { undoMigrationsDownTo, withMigrationsOn } from './support/test-database';

/**
 * Down of the order-credit handover (migrations/1765200000000-OrderCreditReaction.ts) while
 * order-credit still has an OrderCreditDeclined to act on. The previous version has no step that
 * reads OrderCreditDeclined (it gave a late reservation back inside ConfirmOrder, on the
 * CreditReserved its order-fulfilment has receipted already): rolled back then, the reservation
 * would never be released. Down refuses until order-credit has released it.
 */
const TO = 'reaction:order-credit';
const ENV = { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20', ORDER_CONFIRMATION_TIMEOUT_MS: '600000' };
const AMOUNT = 100;

/** Undoes the handover (OrderCreditReaction1765200000000), after the migrations that came later: the API applies those at its start. */
function undoHandover(url: string): Promise<void> {
  return withMigrationsOn(url, migrations, (dataSource) => undoMigrationsDownTo(dataSource, new OrderCreditReaction1765200000000()));
}

async function creditReservedOf(app: TestApp, userId: string): Promise<number> {
  const [{ reserved }] = await app.db.query(`SELECT credit_reserved::int AS reserved FROM users WHERE id = $1`, [userId]);
  return reserved;
}

it('refuses to go down while order-credit has a declined reservation to give back, and goes once it gave it back', async () => {
  let app = await startTestApp({ env: ENV });
  const url = app.databaseUrl;
  const brokerPrefix = app.brokerPrefix;
  let closed = false;
  try {
    const customer = await registerUser(app, { creditLimit: 5_000 });
    // Reserving fails for this customer (their row refuses updates): the step is parked.
    await app.db.query(`CREATE FUNCTION refuse_customer() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$`);
    await app.db.query(`CREATE TRIGGER refuse_customer BEFORE UPDATE ON users FOR EACH ROW WHEN (OLD.id = '${customer}') EXECUTE FUNCTION refuse_customer()`);
    const placed = await app.http().post('/orders').send({ customerId: customer, currency: 'EUR', lines: [{ sku: 'DECLINED', quantity: 1, unitPrice: AMOUNT }] }).expect(202);
    const orderId: string = placed.body.id;
    await eventually(async () => {
      const parked = await app.db.query(`SELECT step FROM parked_reactions WHERE reaction = $1 AND stream_id = $2`, [TO, orderId]);
      expect(parked).toEqual([{ step: 'reserveCreditForPlacedOrder' }]);
    }, 15_000);
    // The customer cancels; order-credit's release finds nothing reserved yet.
    await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);
    await eventually(async () => {
      const [{ n }] = await app.db.query(
        `SELECT count(*)::int AS n FROM reaction_receipts r JOIN events e ON e.event_id = r.event_id
         WHERE r.subscription_id = $1 AND r.step = '*' AND e.event_type = 'OrderCancelled' AND e.stream_id = $2`,
        [TO, orderId],
      );
      expect(n).toBe(1);
    }, 15_000);
    // Mended, order-credit paused (it lags), and the parked reservation retried by an operator:
    // the credit is reserved for a cancelled order, which declines it.
    await app.db.query(`DROP TRIGGER refuse_customer ON users`);
    await app.db.query(`INSERT INTO paused_subscriptions (subscription_id, paused_by, reason) VALUES ($1, 'test', 'lagging')`, [TO]);
    await app.db.query(`UPDATE parked_reactions SET retry_requested_at = clock_timestamp() WHERE reaction = $1`, [TO]);
    await eventually(async () => {
      const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE event_type = 'OrderCreditDeclined' AND stream_id = $1`, [orderId]);
      expect(n).toBe(1);
    }, 15_000);
    expect(await creditReservedOf(app, customer)).toBe(AMOUNT);
    await eventually(async () => {
      const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE global_position IS NULL`);
      expect(n).toBe(0);
    });
    await app.close({ keepDatabase: true });
    closed = true;

    await expect(undoHandover(url)).rejects.toThrow(/OrderCreditDeclined/);

    // Resumed, order-credit gives the reservation back; then down goes.
    await new DataSource({ type: 'postgres', url }).initialize().then(async (db) => {
      await db.query(`DELETE FROM paused_subscriptions WHERE subscription_id = $1`, [TO]);
      await db.destroy();
    });
    app = await startTestApp({ databaseUrl: url, brokerPrefix, env: ENV });
    closed = false;
    await eventually(async () => expect(await creditReservedOf(app, customer)).toBe(0), 15_000);
    await eventually(async () => {
      const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE global_position IS NULL`);
      expect(n).toBe(0);
    });
    await app.close({ keepDatabase: true });
    closed = true;
    await undoHandover(url);
  } finally {
    if (!closed) await app.close({ keepDatabase: true });
    await dropDatabase(url);
  }
}, 120_000);
