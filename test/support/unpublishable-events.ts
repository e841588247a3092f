import amqp from 'amqplib';
import { placeOrder } from './fixtures';
import { eventually, type TestApp } from './test-app';
import { TEST_RABBITMQ_URL } from './test-broker';

/** A stored event a test turned into one this code cannot publish. */
export interface PlantedEvent {
  eventId: string;
  position: string;
}

/** Places an order for `customer` (who needs the credit: the saga confirms it) and waits until it is CONFIRMED. */
export async function confirmedOrder(app: TestApp, customer: string): Promise<string> {
  const order = await placeOrder(app, customer);
  await eventually(async () => expect((await app.http().get(`/orders/${order}`).expect(200)).body.status).toBe('CONFIRMED'), 15_000);
  return order;
}

/** Waits until every reader of the store (projections, reactions, the relay) has taken every event: nothing more is being written. */
export async function waitForReadersIdle(app: TestApp): Promise<void> {
  await eventually(async () => {
    const { body } = await app.http().get('/admin/subscriptions').expect(200);
    expect(body.items.filter((reader: { lagEvents: number }) => reader.lagEvents > 0)).toEqual([]);
  }, 20_000);
}

/**
 * Turns the order's stored OrderConfirmed into the row a process of the previous version would
 * have written after migration OrderTotalsAsMoney: schema v1, `total` a bare number. No upcaster
 * reads it (UnreadableEventVersionError). The CHECK constraint that refuses such rows is dropped
 * first, in the test's own database, as a restore of an old dump or a hand repair could have.
 * Call it once every reader is past the row.
 */
export async function strandConfirmationAtV1(app: TestApp, order: string): Promise<PlantedEvent> {
  await app.db.query(`ALTER TABLE events DROP CONSTRAINT IF EXISTS events_order_totals_are_money`);
  const [rows] = await app.db.query(
    `UPDATE events SET schema_version = 1, payload = jsonb_set(payload, '{total}', payload -> 'total' -> 'amount')
     WHERE stream_id = $1 AND event_type = 'OrderConfirmed' RETURNING event_id AS "eventId", position::text AS position`,
    [order],
  );
  expect(rows).toHaveLength(1);
  return rows[0];
}

/** Takes `field` out of the order's stored `eventType` payload, so that its contract mapper throws on it. Call it once every reader is past the row. */
export async function dropPayloadField(app: TestApp, order: string, eventType: string, field: string): Promise<PlantedEvent> {
  const [rows] = await app.db.query(
    `UPDATE events SET payload = payload - $3::text WHERE stream_id = $1 AND event_type = $2 RETURNING event_id AS "eventId", position::text AS position`,
    [order, eventType, field],
  );
  expect(rows).toHaveLength(1);
  return rows[0];
}

/** A queue of the test's own bound to every routing key of the app's exchange: what is published from now on, in order. */
export async function captureMessages(app: TestApp): Promise<{ ids(expected: number): Promise<string[]>; close(): Promise<void> }> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, app.topology.exchange, '#');
  const received: string[] = [];
  const drain = async () => {
    for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
      received.push(String(message.properties.messageId));
    }
  };
  return {
    /** The message ids received once `expected` came, then a moment more: a message too many shows. */
    async ids(expected) {
      await eventually(async () => {
        await drain();
        expect(received.length).toBeGreaterThanOrEqual(expected);
      }, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await drain();
      return [...received];
    },
    async close() {
      await channel.close();
      await connection.close();
    },
  };
}
