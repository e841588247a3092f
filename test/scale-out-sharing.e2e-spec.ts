import {
  CREDIT_LIMIT,
  CUSTOMERS,
  eachTestOnItsOwnCluster,
  expectEveryOrderDecidedOnceInOrder,
  holdings,
  ORDER_AMOUNT,
  placeOrders,
  rows,
  SEGMENTS,
  startApi,
  SUBSCRIPTIONS,
  twoProcessesSharingEverySubscription,
} from './support/scale-out-cluster';
import { eventually } from './support/test-app';

/**
 * Two (then three) built API processes on one database, every projection and reaction split into
 * SEGMENTS segments: they share the segments, each aggregate's (and each customer's, for the
 * saga) events are still handled in commit order, and nothing is lost or done twice. No bound
 * here is a measure of speed, so this file runs beside others; failover within a bound is in
 * scale-out (exclusive).
 */
eachTestOnItsOwnCluster();

describe(`API processes sharing every subscription's ${SEGMENTS} segments`, () => {
  it('share the segments under a load of orders: every order decided once, every row right, every stream in order', async () => {
    const { first, second, customers } = await twoProcessesSharingEverySubscription();

    // 15 per customer: 14 fit in the credit, the 15th is rejected.
    const accepted = await placeOrders(() => [first, second], customers, 240);
    expect(accepted.length).toBe(240);
    await expectEveryOrderDecidedOnceInOrder(second, accepted);
    // Some orders over the limit were rejected, the others confirmed.
    const [{ confirmed, rejected }] = await rows<{ confirmed: number; rejected: number }>(
      `SELECT count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed, count(*) FILTER (WHERE status = 'REJECTED')::int AS rejected FROM orders`,
    );
    expect(confirmed).toBe(CUSTOMERS * Math.floor(CREDIT_LIMIT / ORDER_AMOUNT));
    expect(rejected).toBe(240 - confirmed);
  }, 180_000);

  it('give a third process its share when it joins (rebalance), and keep every order decided once', async () => {
    const { first, second, customers } = await twoProcessesSharingEverySubscription();

    let live = [first, second];
    const sending = placeOrders(() => live, customers, 240);
    const joinedAt = Date.now();
    const third = await startApi();
    live = [first, second, third];
    // Four segments over three processes: 2 + 1 + 1.
    await eventually(async () => {
      const held = await holdings(first);
      for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id]).sort()]).toEqual([id, [1, 1, 2]]);
    }, 20_000);
    process.stderr.write(`the third process held its share ${Date.now() - joinedAt} ms after it was started (process start included)\n`);
    const accepted = await sending;
    expect(accepted.length).toBe(240);
    await expectEveryOrderDecidedOnceInOrder(third, accepted);
  }, 180_000);
});
