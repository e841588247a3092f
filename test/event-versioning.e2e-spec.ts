import { randomUUID } from 'node:crypto';
import { EventSubscriptions, EventUpcasters, ProjectionRebuilder, type StoredEvent } from '../src/event-store';
import { IntegrationEventMappers } from '../src/messaging/integration-event-mappers';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

/**
 * Writes an order exactly as the code before OrderPlaced v2 did: its row, and an OrderPlaced
 * event of schema version 1 with a bare `total` and a top-level `currency`.
 */
async function writeLegacyOrder(customerId: string, currency: string, lines: Array<{ sku: string; quantity: number; unitPrice: number }>) {
  const orderId = randomUUID();
  const total = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
  const placedAt = new Date().toISOString();
  await app.db.transaction(async (db) => {
    await db.query(
      `INSERT INTO orders (id, customer_id, status, currency, lines, total, version, created_at, updated_at)
       VALUES ($1, $2, 'PENDING', $3, $4, $5, 1, $6, $6)`,
      [orderId, customerId, currency, JSON.stringify(lines), total, placedAt],
    );
    await db.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
       VALUES ($1, 'Order', $2, 1, 'OrderPlaced', 1, $3, $4)`,
      [
        randomUUID(),
        orderId,
        JSON.stringify({ orderId, customerId, currency, lines, total, placedAt }),
        JSON.stringify({ correlationId: 'legacy', causationId: 'legacy', occurredAt: placedAt }),
      ],
    );
  });
  return { orderId, total };
}

describe('event versioning', () => {
  it('writes OrderPlaced as schema version 2 with total as Money', async () => {
    const customer = await registerUser(app);
    const orderId = await placeOrder(app, customer, [{ sku: 'NEW-1', quantity: 2, unitPrice: 300 }]);

    const [row] = await app.db.query(`SELECT schema_version, payload FROM events WHERE stream_id = $1 AND event_type = 'OrderPlaced'`, [orderId]);
    expect(row.schema_version).toBe(2);
    expect(row.payload.total).toEqual({ amount: 600, currency: 'EUR' });
    expect(row.payload).not.toHaveProperty('currency');
  });

  it('replays old v1 rows into the projection and through the saga as the current shape', async () => {
    const customer = await registerUser(app, { creditLimit: 10_000 });
    const legacy = await writeLegacyOrder(customer, 'JPY', [{ sku: 'TEA-1', quantity: 3, unitPrice: 450 }]);

    // The projection (the list) shows the right currency and total, and the saga reserved exactly the total.
    const order = await eventually(async () => {
      const { body } = await app.http().get(`/orders?customerId=${customer}`).expect(200);
      expect(body.items).toHaveLength(1);
      expect(body.items[0]).toMatchObject({ id: legacy.orderId, status: 'CONFIRMED' });
      return body.items[0];
    });
    expect(order).toMatchObject({ currency: 'JPY', total: 1_350, lines: [{ sku: 'TEA-1', quantity: 3, unitPrice: 450 }] });
    await eventually(async () => expect((await app.http().get(`/users/${customer}`).expect(200)).body.creditReserved).toBe(1_350));

    // The audit trail shows the event as it was recorded: history is never rewritten.
    const stream = (await app.http().get(`/streams/${legacy.orderId}/events`).expect(200)).body.events;
    expect(stream[0]).toMatchObject({ type: 'OrderPlaced', schemaVersion: 1, payload: { currency: 'JPY', total: 1_350 } });
  });

  it('rebuilds the order summaries from a store mixing v1 and v2 rows into the same rows', async () => {
    const customer = await registerUser(app, { creditLimit: 100_000 });
    await writeLegacyOrder(customer, 'EUR', [{ sku: 'OLD-1', quantity: 1, unitPrice: 999 }]);
    await placeOrder(app, customer, [{ sku: 'NEW-2', quantity: 4, unitPrice: 250 }]);
    const summaries = () =>
      app.db.query(`SELECT id, status, currency, lines, total, version FROM order_summaries WHERE customer_id = $1 ORDER BY id`, [customer]);
    await eventually(async () => {
      const rows = await summaries();
      expect(rows).toHaveLength(2);
      expect(rows.every((row: { status: string }) => row.status === 'CONFIRMED')).toBe(true);
    });
    const live = await summaries();

    const projection = app.app.get(EventSubscriptions).get(orderSummariesProjection.subscriptionId);
    await projection.stop();
    try {
      await app.db.query(`TRUNCATE order_summaries`);
      await app.db.query(`UPDATE subscription_checkpoints SET global_position = 0 WHERE subscription_id = $1`, [
        orderSummariesProjection.subscriptionId,
      ]);
      await projection.catchUp();
    } finally {
      await projection.start();
    }
    expect(await summaries()).toEqual(live);

    // The rebuild script's path reads through the same upcasters.
    const rebuilt = await new ProjectionRebuilder(app.db, app.app.get(EventUpcasters)).rebuild(orderSummariesProjection, {
      batchSize: 50,
      acceptDifferences: false,
    });
    expect(rebuilt.swapped).toBe(true);
    expect(await summaries()).toEqual(live);
  });

  it('publishes a v1 row with the integration contract unchanged', async () => {
    const orderId = randomUUID();
    const v1: StoredEvent = {
      position: '1',
      globalPosition: '1',
      eventId: randomUUID(),
      streamType: 'Order',
      streamId: orderId,
      streamVersion: 1,
      eventType: 'OrderPlaced',
      schemaVersion: 1,
      payload: { orderId, customerId: randomUUID(), currency: 'USD', lines: [{ sku: 'A', quantity: 1, unitPrice: 5 }], total: 5, placedAt: '2026-01-01T00:00:00.000Z' },
      metadata: { correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
      recordedAt: new Date(),
    };

    const published = app.app.get(IntegrationEventMappers).map(app.app.get(EventUpcasters).upcast(v1));

    expect(published?.data).toMatchObject({ orderId, currency: 'USD', total: 5 });
  });
});
