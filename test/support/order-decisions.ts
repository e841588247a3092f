import { DataSource } from 'typeorm';
import { eventually, TestApp } from './test-app';

/** An order's decision as the orders row holds it. */
export interface OrderDecision {
  status: string;
  rejection_reason: string | null;
}

/** Places a one-line order of `amount` minor units over HTTP (202); returns its id. */
export async function placeOrderOf(app: TestApp, customerId: string, amount: number, headers: Record<string, string> = {}): Promise<string> {
  const response = await app
    .http()
    .post('/orders')
    .set(headers)
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'DEADLINE-1', quantity: 1, unitPrice: amount }] })
    .expect(202);
  return response.body.id;
}

export async function orderDecision(db: DataSource, orderId: string): Promise<OrderDecision> {
  const [row] = await db.query(`SELECT status, rejection_reason FROM orders WHERE id = $1`, [orderId]);
  return row;
}

/** Waits until the order is no longer PENDING (at most `timeoutMs`) and returns its decision. */
export async function orderDecided(app: TestApp, orderId: string, timeoutMs = 20_000): Promise<OrderDecision> {
  return eventually(async () => {
    const row = await orderDecision(app.db, orderId);
    if (row.status === 'PENDING') throw new Error(`order ${orderId} is still PENDING`);
    return row;
  }, timeoutMs);
}
