import { EventSequencer } from '../src/event-store';
import { AfterListening } from '../src/shared/after-listening';
import { lockUserRow, placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp } from './support/test-app';

// The deadline step exists so that an order whose credit step hangs (a lock held elsewhere) is
// still rejected in time. Two orders of one customer read in the same batch: the second order's
// deadline must not wait for the first order's credit step.

describe("a customer's orders while their user row is locked elsewhere", () => {
  it('each get their deadline, though the credit steps wait on the lock', async () => {
    const app = await startTestApp({ startReaders: false, env: { ORDER_CONFIRMATION_TIMEOUT_MS: '60000' } });
    const customer = await registerUser(app, { creditLimit: 50_000 });
    const lock = await lockUserRow(app, customer);
    try {
      const first = await placeOrder(app, customer);
      const second = await placeOrder(app, customer);
      await app.app.get(EventSequencer).sequencePending();
      await app.app.get(AfterListening).start();
      const deadlines = async () =>
        (await app.db.query(`SELECT order_id FROM order_deadlines WHERE order_id = ANY($1)`, [[first, second]])).map(
          (row: { order_id: string }) => (row.order_id === first ? 'first' : 'second'),
        );
      await eventually(async () => expect(await deadlines()).toContain('first'));
      await eventually(async () => expect((await deadlines()).sort()).toEqual(['first', 'second']), 8_000).catch(async (error) => {
        throw new Error(`8 s after the first order's deadline, deadlines stand for: ${JSON.stringify(await deadlines())} (${String(error)})`);
      });
    } finally {
      await lock.release();
      await app.close();
    }
  }, 40_000);
});
