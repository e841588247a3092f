/**
 * @exclusive failover bounds in seconds under a saga load on two API processes: needs the cores
 */
import {
  eachTestOnItsOwnCluster,
  expectEveryOrderDecidedOnceInOrder,
  healthDetails,
  holdings,
  placeOrders,
  rows,
  SEGMENTS,
  SUBSCRIPTIONS,
  twoProcessesSharingEverySubscription,
} from './support/scale-out-cluster';
import { eventually } from './support/test-app';

/**
 * A process that dies or freezes mid-load: its segments (and the relay's leadership) move to the
 * survivor within a bound, and nothing is lost or done twice. How the processes share the
 * segments, and a third one joining, are in scale-out-sharing (no time bound: it runs beside others).
 */
/** SUBSCRIPTION_LEASE_LOOK_MS (1 s) plus a batch in hand and the test's own polling. */
const FAILOVER_BOUND_MS = 5000;
/** LEASE_SESSION_TIMEOUT_MS of the frozen-process case: the server ends a silent lease session after it. */
const FROZEN_LEASE_TIMEOUT_MS = 3000;
/** That timeout, SUBSCRIPTION_LEASE_LOOK_MS (1 s), a batch in hand and the test's polling. */
const FROZEN_FAILOVER_BOUND_MS = FROZEN_LEASE_TIMEOUT_MS + FAILOVER_BOUND_MS;
/** ORDER_CONFIRMATION_TIMEOUT_MS of the frozen-process case: rejected no sooner than twice this after placement. */
const FROZEN_ORDER_TIMEOUT_MS = 10_000;

eachTestOnItsOwnCluster();

describe(`two API processes, every subscription split into ${SEGMENTS} segments`, () => {
  it(`move a SIGKILLed process's segments to the other within ${FAILOVER_BOUND_MS} ms, mid-load, losing and doubling nothing`, async () => {
    const { first, second: doomed, customers } = await twoProcessesSharingEverySubscription();

    let live = [first, doomed];
    const sending = placeOrders(() => live, customers, 400);
    // Once the saga is busy, the second process dies; the load goes on against the first.
    await eventually(async () => {
      const [{ n }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status <> 'PENDING'`);
      expect(n).toBeGreaterThanOrEqual(60);
    }, 30_000);
    live = [first];
    await doomed.kill('SIGKILL');
    const killedAt = Date.now();
    await eventually(async () => {
      const held = await holdings(first);
      for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id])]).toEqual([id, [SEGMENTS]]);
    }, 20_000);
    const movedInMs = Date.now() - killedAt;
    process.stderr.write(`segments moved to the survivor ${movedInMs} ms after SIGKILL\n`);
    expect(movedInMs).toBeLessThan(FAILOVER_BOUND_MS);

    const accepted = await sending;
    // Requests in flight to the killed process may have committed without an answer.
    const [{ n: committed }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM orders`);
    expect(committed).toBeGreaterThanOrEqual(accepted.length);
    const all = (await rows<{ id: string }>(`SELECT id FROM orders`)).map(({ id }) => id);
    for (const id of accepted) expect(all).toContain(id);
    await expectEveryOrderDecidedOnceInOrder(first, all);
  }, 180_000);

  it(`move a frozen (SIGSTOPped) process's segments and relay leadership to the other within ${FROZEN_FAILOVER_BOUND_MS} ms, mid-load, no order timing out`, async () => {
    const { first, second, customers } = await twoProcessesSharingEverySubscription({
      LEASE_SESSION_TIMEOUT_MS: String(FROZEN_LEASE_TIMEOUT_MS),
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: String(FROZEN_LEASE_TIMEOUT_MS),
      // Long against the lease's timeout, short against the frozen time: a frozen process that kept
      // its credit reaction's segments would see its customers' orders rejected for `timeout`.
      ORDER_CONFIRMATION_TIMEOUT_MS: String(FROZEN_ORDER_TIMEOUT_MS),
    });
    // The relay's leader is frozen, so that its leadership must move too.
    const frozen = (await healthDetails(first)).relay.relaying ? first : second;
    const survivor = frozen === first ? second : first;
    expect((await healthDetails(frozen)).relay.relaying).toBe(true);

    let live = [first, second];
    const sending = placeOrders(() => live, customers, 240);
    await eventually(async () => {
      const [{ n }] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status <> 'PENDING'`);
      expect(n).toBeGreaterThanOrEqual(60);
    }, 30_000);
    live = [survivor];
    frozen.signal('SIGSTOP');
    const frozenAt = Date.now();
    try {
      // A frozen process's kernel still answers TCP keepalive: only the lease session's silence tells.
      await eventually(async () => {
        const held = await holdings(survivor);
        for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id])]).toEqual([id, [SEGMENTS]]);
        expect((await healthDetails(survivor)).relay.relaying).toBe(true);
      }, 30_000);
      const movedInMs = Date.now() - frozenAt;
      process.stderr.write(`segments and relay leadership moved to the survivor ${movedInMs} ms after SIGSTOP\n`);
      expect(movedInMs).toBeLessThan(FROZEN_FAILOVER_BOUND_MS);

      const accepted = await sending;
      // Every order decided while the other process is still frozen, by the saga: none timed out.
      await eventually(async () => {
        const [{ pending }] = await rows<{ pending: number }>(`SELECT count(*)::int AS pending FROM orders WHERE status = 'PENDING'`);
        expect(pending).toBe(0);
      }, 60_000);
      for (const id of accepted) expect((await rows(`SELECT 1 FROM orders WHERE id = $1`, [id])).length).toBe(1);
      // Its transactions ended with their sessions: none is left open, holding row locks.
      expect(
        await rows(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'
           AND clock_timestamp() - state_change > make_interval(secs => $1)`,
          [(FROZEN_LEASE_TIMEOUT_MS + 1000) / 1000],
        ),
      ).toEqual([]);
    } finally {
      frozen.signal('SIGCONT');
    }
    // Woken, it finds its leases gone and takes its share back; nothing it did is done twice.
    await eventually(async () => {
      const held = await holdings(survivor);
      for (const id of SUBSCRIPTIONS) expect([id, Object.values(held[id]).sort()]).toEqual([id, [SEGMENTS / 2, SEGMENTS / 2]]);
    }, 30_000);
    const all = (await rows<{ id: string }>(`SELECT id FROM orders`)).map(({ id }) => id);
    await expectEveryOrderDecidedOnceInOrder(survivor, all);
    expect(await rows(`SELECT id FROM orders WHERE rejection_reason = 'timeout'`)).toEqual([]);
    // Every event relayed, by the survivor while the leader was frozen and by whoever leads now.
    await eventually(async () => expect((await healthDetails(survivor)).relay.lag).toBe(0), 30_000);
  }, 180_000);
});
