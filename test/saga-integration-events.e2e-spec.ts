import type { Client } from 'pg';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';
import type { ConsumerProcess } from './support/consumer-process';
import { registerUser } from './support/fixtures';
import { messageCount } from './support/test-broker';
import { eventually, type TestApp } from './support/test-app';

let api: TestApp;
let consumer: ConsumerProcess;
let consumerDb: Client;
let apps: ApiWithConsumer | undefined;

beforeAll(async () => {
  ({ api, consumer, consumerDb } = apps = await startApiWithConsumer());
}, 60_000);

afterAll(() => apps?.close());

async function order(customerId: string, unitPrice: number): Promise<string> {
  const response = await api
    .http()
    .post('/orders')
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'PIPE', quantity: 1, unitPrice }] })
    .expect(202);
  return response.body.id;
}

async function statusOf(orderId: string, status: string): Promise<void> {
  await eventually(async () => expect((await api.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe(status));
}

describe('the saga through RabbitMQ to the consumer app', () => {
  it('publishes every event of the saga, credit events included, and the consumer applies each stream in full', async () => {
    const customer = await registerUser(api, { creditLimit: 3_000 });
    const confirmedThenCancelled = await order(customer, 1_000);
    await statusOf(confirmedThenCancelled, 'CONFIRMED');
    const rejected = await order(customer, 5_000);
    await statusOf(rejected, 'REJECTED');
    const shipped = await order(customer, 1_500);
    await statusOf(shipped, 'CONFIRMED');
    await api.http().post(`/orders/${confirmedThenCancelled}/cancel`).send({ reason: 'changed my mind' }).expect(202);
    await api.http().post(`/orders/${shipped}/ship`).expect(202);
    await api.http().put(`/users/${customer}/email`).send({ email: `after-saga-${customer}@example.com` }).expect(204);

    // Every event stored (the user's stream interleaves credit events with its own) reaches the
    // consumer and is applied in sequence; nothing waits for a missing one, nothing is parked.
    // Registered, reserved, rejected, reserved, released (cancel), consumed (ship), email changed.
    const userVersion = 7;
    await eventually(async () => {
      const [user] = await api.db.query(`SELECT version, credit_reserved::int AS reserved FROM users WHERE id = $1`, [customer]);
      expect(user).toEqual({ version: userVersion, reserved: 0 });
    });
    await eventually(async () => {
      const { rows } = await consumerDb.query(`SELECT last_sequence AS applied FROM stream_positions WHERE stream_id = $1`, [customer]);
      expect(rows[0]?.applied).toBe(userVersion);
      const [{ stored }] = await api.db.query(`SELECT count(*)::int AS stored FROM events`);
      const { rows: inbox } = await consumerDb.query(`SELECT count(*)::int AS applied FROM inbox`);
      expect(inbox[0].applied).toBe(stored);
    }, 30_000);

    const { rows: notices } = await consumerDb.query(`SELECT kind FROM notifications WHERE customer_id = $1 ORDER BY created_at, kind`, [customer]);
    expect(notices.map((notice: { kind: string }) => notice.kind).sort()).toEqual(
      ['ORDER_CANCELLED', 'ORDER_CONFIRMED', 'ORDER_CONFIRMED', 'ORDER_REJECTED', 'ORDER_SHIPPED', 'WELCOME'].sort(),
    );
    const { body: stats } = await consumer.get(`/customers/${customer}/stats`);
    expect(stats).toMatchObject({ ordersPlaced: 3, ordersConfirmed: 2 });
    expect(await messageCount(api.topology.deadLetterQueue)).toBe(0);
  }, 60_000);
});
