import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { IntegrationEventPublisher } from '../src/messaging/integration-event-publisher';
import { OutboxRelay } from '../src/messaging/relay/outbox-relay';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/**
 * No transaction that did not append events, in this database or another of the server, delays
 * delivery; an append that hangs delays only its own event. Each test holds its transaction open
 * until the state is reached and then checks that it is still open: the assertion is on order,
 * not on timing (the old snapshot-xmin reader never got there while the transaction was open).
 */
let app: TestApp;
let customerId: string;
const clients: Client[] = [];

beforeAll(async () => {
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
  customerId = await registerUser(app);
}, 30_000);
afterAll(async () => {
  await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  await app?.close();
});

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

/** Opens a transaction on `client` that holds a transaction id; returns that id. */
async function holdTransactionId(client: Client): Promise<string> {
  await client.query('BEGIN');
  const { rows } = await client.query('SELECT pg_current_xact_id()::text AS xid');
  return rows[0].xid;
}

/** Whether the transaction `xid` is still running on the server (seen from any database). */
async function stillOpen(xid: string): Promise<boolean> {
  const [{ open }] = await app.db.query(`SELECT pg_xact_status($1::xid8) = 'in progress' AS open`, [xid]);
  return open;
}

/** Whether the order is in its projection (GET /orders/{id} reads the write model, which would not tell). */
async function inProjection(orderId: string): Promise<boolean> {
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM order_summaries WHERE id = $1`, [orderId]);
  return n === 1;
}

/** The order is in its projection and every committed event is confirmed by the broker. */
async function readableAndRelayed(orderId: string): Promise<void> {
  await eventually(async () => {
    expect(await inProjection(orderId)).toBe(true);
    expect(await app.app.get(OutboxRelay).lag()).toBe(0);
  }, 15_000);
}

function orderPlacedRow(orderId = randomUUID()) {
  return {
    eventId: randomUUID(),
    orderId,
    payload: JSON.stringify({
      orderId,
      customerId: randomUUID(),
      lines: [{ sku: 'STALLED', quantity: 1, unitPrice: 1000 }],
      total: { amount: 1000, currency: 'EUR' },
      placedAt: '2026-01-01T00:00:00.000Z',
    }),
  };
}

/**
 * Appends OrderPlaced events (v2) directly, as a writer outside the API would: one INSERT, and a
 * NOTIFY `events_appended` that wakes the API's sequencer when the transaction commits.
 */
async function appendOrdersPlaced(db: Client, rows: Array<ReturnType<typeof orderPlacedRow>>): Promise<void> {
  await db.query(
    `WITH appended AS (
       INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
       SELECT e.event_id, 'Order', e.stream_id, 1, 'OrderPlaced', 2, e.payload::jsonb,
         '{"correlationId":"c","causationId":"c","occurredAt":"2026-01-01T00:00:00.000Z"}'
       FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS e(event_id, stream_id, payload)
       RETURNING 1
     )
     SELECT pg_notify('events_appended', '') FROM (SELECT count(*) FROM appended) AS done`,
    [rows.map((row) => row.eventId), rows.map((row) => row.orderId), rows.map((row) => row.payload)],
  );
}

describe('event delivery that nothing outside a write can stall', () => {
  it('is not held back by a transaction open in another database of the server', async () => {
    const otherUrl = await createTestDatabase();
    try {
      const other = await connect(otherUrl);
      const xid = await holdTransactionId(other);

      const orderId = await placeOrder(app, customerId);
      await readableAndRelayed(orderId);
      expect(await stillOpen(xid)).toBe(true);

      await other.query('ROLLBACK');
      await other.end();
    } finally {
      await dropDatabase(otherUrl);
    }
  });

  it('is not held back by a transaction in the same database that writes no events', async () => {
    const other = await connect(app.databaseUrl);
    const xid = await holdTransactionId(other);

    const orderId = await placeOrder(app, customerId);
    await readableAndRelayed(orderId);
    expect(await stillOpen(xid)).toBe(true);
    await other.query('ROLLBACK');
  });

  it('lets 1,000 events pass an append that hangs, then delivers the hung one exactly once', async () => {
    const projected = jest.spyOn(orderSummariesProjection, 'apply');
    const published = jest.spyOn(app.app.get(IntegrationEventPublisher), 'publish');
    try {
      const hanging = await connect(app.databaseUrl);
      const stuck = orderPlacedRow();
      const xid = await holdTransactionId(hanging);
      await appendOrdersPlaced(hanging, [stuck]);

      // 1,000 events in 50 transactions that commit while the first append stays open.
      const writer = await connect(app.databaseUrl);
      const others = Array.from({ length: 1000 }, () => orderPlacedRow());
      for (let i = 0; i < others.length; i += 20) await appendOrdersPlaced(writer, others.slice(i, i + 20));

      await eventually(async () => {
        const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM order_summaries WHERE id = ANY($1::uuid[])`, [
          others.map((row) => row.orderId),
        ]);
        expect(n).toBe(others.length);
        expect(await app.app.get(OutboxRelay).lag()).toBe(0);
      }, 30_000);
      expect(await stillOpen(xid)).toBe(true);
      expect(await inProjection(stuck.orderId)).toBe(false);

      await hanging.query('COMMIT');
      await readableAndRelayed(stuck.orderId);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a duplicate would show by now

      const timesProjected = projected.mock.calls.flatMap(([events]) => events).filter((event) => event.eventId === stuck.eventId).length;
      const timesPublished = published.mock.calls.filter(([envelope]) => envelope.id === stuck.eventId).length;
      expect({ timesProjected, timesPublished }).toEqual({ timesProjected: 1, timesPublished: 1 });
      for (const row of others.slice(0, 5)) {
        expect(projected.mock.calls.flatMap(([events]) => events).filter((event) => event.eventId === row.eventId)).toHaveLength(1);
      }
    } finally {
      projected.mockRestore();
      published.mockRestore();
    }
  }, 60_000);
});
