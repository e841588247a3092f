import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { SessionAdvisoryLock } from '../src/database/session-advisory-lock';
import { SubscriptionLeases } from '../src/event-store/segments/subscription-leases';
import { EventSubscriptions } from '../src/event-store';
import { segmentOf } from '../src/event-store/segments/segments';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { CliResult, runBuiltCli } from './support/built-cli';
import { placeOrder, refuseOrderSummariesOfBrokenOrders, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/**
 * Faults found reviewing the scale-out by segments (SUBSCRIPTION_SEGMENTS > 1), each reproduced
 * against a real API in this process.
 */
const SEGMENTS = 4;
const ORDER_SUMMARIES = orderSummariesProjection.subscriptionId;

async function projected(app: TestApp, orderId: string): Promise<boolean> {
  const rows: unknown[] = await app.db.query(`SELECT 1 FROM order_summaries WHERE id = $1`, [orderId]);
  return rows.length > 0;
}

function subscriptionsCli(app: TestApp, ...args: string[]): Promise<CliResult> {
  return runBuiltCli('dist/src/cli/subscriptions.js', app.databaseUrl, ...args);
}

describe(`a projection split into ${SEGMENTS} segments, one of them stopped at an event it cannot apply`, () => {
  let app: TestApp;
  let customerId: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { REACTIONS_ENABLED: 'false', SUBSCRIPTION_SEGMENTS: String(SEGMENTS) } });
    customerId = await registerUser(app);
    await refuseOrderSummariesOfBrokenOrders(app);
  });
  afterAll(() => app.close());

  it('lets the other segments this process holds go on, shows the stopped one on /health, and moves on after a skip', async () => {
    const projection = app.app.get(EventSubscriptions).get(ORDER_SUMMARIES);
    await projection.stop();
    const broken = await placeOrder(app, customerId);
    await app.db.query(`INSERT INTO broken_orders (id) VALUES ($1)`, [broken]);
    const brokenSegment = segmentOf(broken, SEGMENTS);
    // Orders after it in the other segments (at least three of them), and some in its own.
    const otherSegments: string[] = [];
    const sameSegment: string[] = [];
    while (otherSegments.length < 3 || sameSegment.length < 1) {
      const id = await placeOrder(app, customerId);
      (segmentOf(id, SEGMENTS) === brokenSegment ? sameSegment : otherSegments).push(id);
    }
    await projection.start();

    // The broken segment stops at its event, and /health names it.
    await eventually(async () => {
      const response = await app.http().get('/health');
      expect(response.status).toBe(503);
      expect(response.body.details.subscriptions.stopped).toEqual([ORDER_SUMMARIES]);
      const reader = response.body.details.subscriptions.readers[ORDER_SUMMARIES];
      const stopped = reader.segments.filter((segment: { stoppedAt?: unknown }) => segment.stoppedAt);
      expect(stopped.map((segment: { segment: number }) => segment.segment)).toEqual([brokenSegment]);
    }, 15_000);
    // The other segments are not its business: every order there is projected.
    for (const id of otherSegments) await eventually(async () => expect(await projected(app, id)).toBe(true), 5000);
    for (const id of [broken, ...sameSegment]) expect(await projected(app, id)).toBe(false);

    // The operator skips the event; the broken segment moves on, without it.
    const [{ eventId }] = await app.db.query(`SELECT event_id AS "eventId" FROM events WHERE stream_id = $1 AND event_type = 'OrderPlaced'`, [broken]);
    const skipped = await subscriptionsCli(app, 'skip', ORDER_SUMMARIES, '--event', eventId, '--reason', 'review', '--by', 'review');
    expect(skipped).toMatchObject({ code: 0 });
    for (const id of sameSegment) await eventually(async () => expect(await projected(app, id)).toBe(true), 5000);
    expect(await projected(app, broken)).toBe(false);
    await eventually(async () => expect((await app.http().get('/health')).status).toBe(200));
  }, 60_000);
});

describe('the lease session of a process whose machine vanishes (no FIN, no RST)', () => {
  it('is probed by PostgreSQL within seconds, so that its segments do not stay locked for the OS default of over two hours', async () => {
    const databaseUrl = await createTestDatabase();
    const leases = new SubscriptionLeases({ databaseUrl, lookMs: 1000, settledLookMs: 30_000 });
    try {
      leases.lease('projection:vanishing', 2);
      await leases.look();
      expect(leases.describe()[0].held).toEqual([0, 1]);
      // The server ends a session whose peer is gone only when its TCP keepalive gives up: with
      // PostgreSQL's defaults (0: the OS's, 7200 s idle, 9 probes 75 s apart) that is 2 h 11 min,
      // for which every segment of the vanished process stays locked and unprocessed.
      await expectVanishedPeerNoticedWithinAMinute((leases as unknown as { client: Client }).client);
    } finally {
      await leases.stop();
      await dropDatabase(databaseUrl);
    }
  }, 30_000);

  it("is probed the same way for the relay's leadership (SessionAdvisoryLock)", async () => {
    const databaseUrl = await createTestDatabase();
    const leadership = new SessionAdvisoryLock(databaseUrl, 'relay:vanishing');
    try {
      expect(await leadership.tryAcquire()).toBe(true);
      await expectVanishedPeerNoticedWithinAMinute((leadership as unknown as { client: Client }).client);
    } finally {
      await leadership.release();
      await dropDatabase(databaseUrl);
    }
  }, 30_000);
});

/** The server's TCP keepalive on a lease session over TCP gives a vanished peer up within a minute. */
async function expectVanishedPeerNoticedWithinAMinute(session: Client): Promise<void> {
  const { rows } = await session.query<{ idle: number; interval: number; count: number; tcp: boolean }>(
    `SELECT current_setting('tcp_keepalives_idle')::int AS idle, current_setting('tcp_keepalives_interval')::int AS interval,
            current_setting('tcp_keepalives_count')::int AS count, inet_client_addr() IS NOT NULL AS tcp`,
  );
  const [{ idle, interval, count, tcp }] = rows;
  expect(tcp).toBe(true);
  expect(idle + interval * count).toBeLessThanOrEqual(60);
}

describe('two subscriptions whose lease keys collide under hashtext', () => {
  // hashtext('projection:p188272/4') = hashtext('projection:p190212/4'): their segment locks are the
  // same advisory locks. The first to look takes all four; the second then sees every segment
  // "held" by this very session but none in its own lease, so it never takes one and never runs.
  it('are refused loudly instead of leaving one of them unprocessed for good', async () => {
    const databaseUrl = await createTestDatabase();
    const leases = new SubscriptionLeases({ databaseUrl, lookMs: 1000, settledLookMs: 30_000 });
    try {
      const first = leases.lease('projection:p188272', 4);
      const second = leases.lease('projection:p190212', 4);
      const outcome = async (lease: typeof first) => lease.beforeBatch().then((held) => ({ held }), (error: unknown) => ({ error: String(error) }));
      const firstOutcome = await outcome(first);
      const secondOutcome = await outcome(second);
      // On main: { held: [0, 1, 2, 3] } then { held: [] }, silently.
      expect([firstOutcome, secondOutcome]).not.toContainEqual({ held: [] });
      expect(secondOutcome).toEqual({ error: expect.stringMatching(/projection:p188272.*projection:p190212/) });
    } finally {
      await leases.stop();
      await dropDatabase(databaseUrl);
    }
  }, 30_000);
});

describe('a process started with another SUBSCRIPTION_SEGMENTS while others run', () => {
  // Found following the README as a newcomer: a process started with 1 while two ran with 2
  // merged the checkpoint rows under them; they stopped reading for good ("no longer split into
  // 2 segments" in their logs) while /health said 200.
  it('is refused at start, naming the number the running processes use, and they go on', async () => {
    const running = await startTestApp({ env: { SUBSCRIPTION_SEGMENTS: '2' } });
    try {
      const customerId = await registerUser(running);
      await expect(startTestApp({ databaseUrl: running.databaseUrl, brokerPrefix: running.brokerPrefix, env: { SUBSCRIPTION_SEGMENTS: '1' } })).rejects.toThrow(
        /running process\(es\) have it split into 2 segments: start this one with SUBSCRIPTION_SEGMENTS=2/,
      );
      // The projections and reactions are still split as the running process has them (the relay is never split).
      const [{ splits }] = await running.db.query(
        `SELECT array_agg(DISTINCT segments) AS splits FROM subscription_checkpoints WHERE subscription_id LIKE 'projection:%' OR subscription_id LIKE 'reaction:%'`,
      );
      expect(splits).toEqual([2]);
      const orderId = await placeOrder(running, customerId);
      await eventually(async () => {
        const response = await running.http().get(`/orders?customerId=${customerId}`).expect(200);
        expect(response.body.items.map((item: { id: string }) => item.id)).toContain(orderId);
      });
    } finally {
      await running.close();
    }
  }, 60_000);
});
