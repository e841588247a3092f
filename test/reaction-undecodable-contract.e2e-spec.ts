import { randomUUID } from 'node:crypto';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

/**
 * A reaction of another module reads an event as its publisher's contract (toContract: the
 * publication table's mapper over the stored payload). A payload the mapper cannot read (a row
 * written by hand, a restore gone wrong, an upcaster that missed a shape) fails that event's steps
 * like any failing step: retried, parked, reported. It must not stop the reaction for everyone.
 */
describe('a reaction reading a contract its mapper cannot make of one stored event', () => {
  it('parks that event and goes on with every other customer', async () => {
    const app = await startTestApp({ env: { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' } });
    try {
      // An OrderPlaced without `total`: ORDER_PUBLICATION's mapper throws on it (e.total.currency).
      const strayOrder = randomUUID();
      const strayCustomer = randomUUID();
      const placedAt = new Date().toISOString();
      const poison = randomUUID();
      await app.db.query(
        `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
         VALUES ($1, 'Order', $2, 1, 'OrderPlaced', 2, $3, $4)`,
        [
          poison,
          strayOrder,
          JSON.stringify({ orderId: strayOrder, customerId: strayCustomer, lines: [{ sku: 'STRAY', quantity: 1, unitPrice: 70 }], placedAt }),
          JSON.stringify({ correlationId: 'stray', causationId: 'stray', occurredAt: placedAt }),
        ],
      );

      const customer = await registerUser(app, { creditLimit: 5_000 });
      const response = await app
        .http()
        .post('/orders')
        .send({ customerId: customer, currency: 'EUR', lines: [{ sku: 'HEALTHY', quantity: 1, unitPrice: 100 }] })
        .expect(202);
      const healthyOrder: string = response.body.id;

      await eventually(async () => {
        const { body } = await app.http().get(`/orders/${healthyOrder}`).expect(200);
        expect(body.status).toBe('CONFIRMED');
      }, 15_000);
      // Every step of the reaction parked (which of them the event concerns cannot be told without
      // reading it), each with the mapper's error, for an operator to retry once the row is mended.
      const parked: Array<{ step: string; last_error: string }> = await eventually(async () => {
        const rows = await app.db.query(`SELECT step, last_error FROM parked_reactions WHERE reaction = 'reaction:order-credit' AND event_id = $1 ORDER BY step`, [poison]);
        expect(rows.map(({ step }: { step: string }) => step)).toEqual([
          'consumeCreditOfShippedOrder',
          'releaseCreditDeclinedByOrder',
          'releaseCreditOfClosedOrder',
          'reserveCreditForPlacedOrder',
        ]);
        return rows;
      }, 15_000);
      for (const row of parked) expect(row.last_error).toContain('TypeError');

      // Mended, and retried on request: read again, each step does what it has to (the steps that
      // do not apply to an OrderPlaced leave the parked list; reserving fails on, for want of the customer).
      await app.db.query(`UPDATE events SET payload = payload || '{"total":{"amount":70,"currency":"EUR"}}'::jsonb WHERE event_id = $1`, [poison]);
      await app.db.query(`UPDATE parked_reactions SET retry_requested_at = clock_timestamp() WHERE event_id = $1`, [poison]);
      await eventually(async () => {
        const rows = await app.db.query(`SELECT step, last_error FROM parked_reactions WHERE reaction = 'reaction:order-credit' AND event_id = $1`, [poison]);
        expect(rows).toEqual([{ step: 'reserveCreditForPlacedOrder', last_error: expect.stringContaining('UserNotFoundError') }]);
      }, 15_000);
    } finally {
      await app.close();
    }
  }, 60_000);
});
