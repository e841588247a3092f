import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { SessionAdvisoryLock } from '../src/database/session-advisory-lock';
import { SubscriptionLeases } from '../src/event-store/segments/subscription-leases';
import { eventually } from './support/test-app';
import { createTestDatabase, startDatabaseProxy } from './support/test-database';
import type { TcpProxy } from './support/tcp-proxy';

/**
 * A lease session whose PostgreSQL vanished without closing it (its machine gone, the network cut:
 * no FIN, no RST), played by a proxy that stops forwarding both ways with both sockets left open.
 * The server hears no heartbeat and ends the session after LEASE_SESSION_TIMEOUT_MS
 * (idle_session_timeout), which frees its locks for another process. The process cut off hears
 * nothing of that: its heartbeats and statements go unanswered, and its TCP keepalive cannot help
 * while they are unacknowledged (in the real world the kernel retransmits for up to ~15 min; behind
 * this proxy, for ever). It must give its leases up before the server can have freed them, so that
 * two processes never lead, nor hold one segment, at once; and a statement it sends meanwhile must
 * fail rather than hang its caller.
 */
const TIMEOUT_MS = 3000;

let databaseUrl: string;
let proxy: TcpProxy;
let observer: Client;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  proxy = await startDatabaseProxy();
  observer = new Client({ connectionString: databaseUrl });
  await observer.connect();
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  proxy?.release();
  await proxy?.close();
  await observer?.end();
  await dropDatabase(databaseUrl);
});
afterEach(() => {
  proxy.release();
  expect(unhandled).toEqual([]);
});

/** Whether PostgreSQL still has a session whose application_name starts with `prefix`. */
async function sessionAlive(prefix: string): Promise<boolean> {
  const { rows } = await observer.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1 || '%'`, [prefix]);
  return rows.length > 0;
}

it('a lock holder cut off from PostgreSQL gives its lock up (onLost) before the server frees it for another process', async () => {
  let lost = 0;
  const cutOff = new SessionAdvisoryLock(proxy.rewrite(databaseUrl), 'relay:vanished', () => (lost += 1), TIMEOUT_MS);
  const other = new SessionAdvisoryLock(databaseUrl, 'relay:vanished', () => undefined, TIMEOUT_MS);
  try {
    expect(await cutOff.tryAcquire()).toBe(true);
    expect(await other.tryAcquire()).toBe(false);
    proxy.blackHole();
    // Two leaders at once is what must never be: each time the other process wins, the cut-off one has stopped leading.
    await eventually(async () => {
      const won = await other.tryAcquire();
      if (won) expect({ cutOffHeld: cutOff.held, lost }).toEqual({ cutOffHeld: false, lost: 1 });
      expect(won).toBe(true);
    }, 4 * TIMEOUT_MS);
    expect(cutOff.held).toBe(false);
  } finally {
    proxy.release();
    await other.release();
    await cutOff.release();
  }
}, 30_000);

it('a campaign sent while PostgreSQL is gone fails within the session timeout instead of hanging (and release does not hang)', async () => {
  const holder = new SessionAdvisoryLock(databaseUrl, 'relay:campaign', () => undefined, TIMEOUT_MS);
  const follower = new SessionAdvisoryLock(proxy.rewrite(databaseUrl), 'relay:campaign', () => undefined, TIMEOUT_MS);
  try {
    expect(await holder.tryAcquire()).toBe(true);
    expect(await follower.tryAcquire()).toBe(false);
    proxy.blackHole();
    const started = Date.now();
    const outcome = await Promise.race([
      follower.tryAcquire().then(
        (won) => `resolved ${won}`,
        () => 'rejected',
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 3 * TIMEOUT_MS)),
    ]);
    expect(outcome).toBe('rejected');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    const released = await Promise.race([follower.release().then(() => 'released'), new Promise((resolve) => setTimeout(() => resolve('hung'), 2000))]);
    expect(released).toBe('released');
  } finally {
    proxy.release();
    await holder.release();
    await follower.release();
  }
}, 30_000);

it('segments held by a process cut off from PostgreSQL are never held by two processes at once, and are shared again once the network is back', async () => {
  const cutOff = new SubscriptionLeases({ databaseUrl: proxy.rewrite(databaseUrl), lookMs: 200, settledLookMs: 30_000, sessionTimeoutMs: TIMEOUT_MS });
  const other = new SubscriptionLeases({ databaseUrl, lookMs: 200, settledLookMs: 30_000, sessionTimeoutMs: TIMEOUT_MS });
  const cutOffLease = cutOff.lease('projection:vanished', 2);
  const otherLease = other.lease('projection:vanished', 2);
  // What NOTIFY subscription_leases does between processes: a join or a release makes the other look.
  cutOff.start(async () => other.wake());
  const overlaps: string[] = [];
  const watch = setInterval(() => {
    const both = [...otherLease.held].filter((segment) => cutOffLease.held.has(segment));
    if (both.length > 0) overlaps.push(`segment(s) ${both.join(', ')} held by both at ${Date.now()}`);
  }, 10);
  try {
    await eventually(async () => expect(await cutOffLease.beforeBatch()).toEqual([0, 1]));
    other.start(async () => cutOff.wake());
    proxy.blackHole();
    // The server ends the silent session within the timeout; the other process then takes both segments.
    await eventually(async () => expect(await otherLease.beforeBatch()).toEqual([0, 1]), 4 * TIMEOUT_MS);
    expect(await sessionAlive(cutOff.applicationName)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(overlaps).toEqual([]);
    expect(cutOffLease.held.size).toBe(0);
    proxy.release();
    // Back: the two share the segments (one each).
    await eventually(async () => {
      await cutOffLease.beforeBatch();
      await otherLease.beforeBatch();
      expect([cutOffLease.held.size, otherLease.held.size]).toEqual([1, 1]);
    }, 4 * TIMEOUT_MS);
    expect(overlaps).toEqual([]);
  } finally {
    clearInterval(watch);
    proxy.release();
    await cutOff.stop();
    await other.stop();
  }
}, 40_000);

it('gives its lease sessions up at once while PostgreSQL is gone: SubscriptionLeases.stop and SessionAdvisoryLock.release do not wait for a goodbye that never comes', async () => {
  // A session timeout longer than the test: nothing ends the sessions but stop and release.
  const leases = new SubscriptionLeases({ databaseUrl: proxy.rewrite(databaseUrl), lookMs: 200, settledLookMs: 30_000, sessionTimeoutMs: 60_000 });
  const lease = leases.lease('projection:stopped-while-cut-off', 2);
  const lock = new SessionAdvisoryLock(proxy.rewrite(databaseUrl), 'relay:released-while-cut-off', () => undefined, 60_000);
  leases.start();
  try {
    await eventually(async () => expect(await lease.beforeBatch()).toEqual([0, 1]));
    expect(await lock.tryAcquire()).toBe(true);
    proxy.blackHole();
    const within = (work: Promise<void>) =>
      Promise.race([work.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000))]);
    expect(await within(leases.stop())).toBe('ended');
    expect(await within(lock.release())).toBe('ended');
    expect(lease.held.size).toBe(0);
    expect(lock.held).toBe(false);
  } finally {
    proxy.release();
    await leases.stop();
    await lock.release();
  }
}, 30_000);
