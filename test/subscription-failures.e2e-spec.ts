import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EventSequencer, EventSubscriptions, readSubscriptionStatuses, SUBSCRIPTION_STATUS_SQL } from '../src/event-store';
import { RELAY_CHECKPOINT } from '../src/messaging/relay/outbox-relay';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { CliResult, runBuiltCli } from './support/built-cli';
import { placeOrder, refuseOrderSummariesOfBrokenOrders, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { createMigratedDataSource } from './support/test-database';

const ORDER_SUMMARIES = orderSummariesProjection.subscriptionId;

function subscriptionsCli(app: TestApp, ...args: string[]): Promise<CliResult> {
  return runBuiltCli('dist/src/cli/subscriptions.js', app.databaseUrl, ...args);
}

async function checkpointOf(app: TestApp, subscriptionId: string): Promise<bigint> {
  const [row] = await app.db.query(`SELECT global_position::text AS position FROM subscription_checkpoints WHERE subscription_id = $1`, [
    subscriptionId,
  ]);
  return BigInt(row.position);
}

/** The numbered event of `streamId` of type `eventType`. */
async function eventOf(app: TestApp, streamId: string, eventType: string): Promise<{ eventId: string; position: bigint }> {
  return eventually(async () => {
    const [row] = await app.db.query(
      `SELECT event_id AS "eventId", global_position::text AS position FROM events
       WHERE stream_id = $1 AND event_type = $2 AND global_position IS NOT NULL`,
      [streamId, eventType],
    );
    expect(row).toBeDefined();
    return { eventId: row.eventId, position: BigInt(row.position) };
  });
}

async function health(app: TestApp) {
  const response = await app.http().get('/health');
  return { status: response.status, body: response.body };
}

async function failedAttempts(app: TestApp, subscriptionId: string): Promise<number> {
  const [row] = await app.db.query(`SELECT failed_attempts AS n FROM subscription_checkpoints WHERE subscription_id = $1`, [subscriptionId]);
  return row.n;
}

describe('a projection stopped by an event it cannot apply', () => {
  let app: TestApp;
  let customerId: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    customerId = await registerUser(app);
    await refuseOrderSummariesOfBrokenOrders(app);
  });
  afterAll(() => app.close());

  /** Places orders while the projection is stopped, so that it takes them all in one batch. */
  async function placeWhileStopped(place: () => Promise<void>): Promise<void> {
    const projection = app.app.get(EventSubscriptions).get(ORDER_SUMMARIES);
    await projection.stop();
    await place();
    await projection.start();
  }

  it('applies every event before the broken one, stops exactly at it, lets the other readers pass it, reports it on /health, and moves on after a skip', async () => {
    const before: string[] = [];
    const after: string[] = [];
    let broken = '';
    await placeWhileStopped(async () => {
      before.push(await placeOrder(app, customerId), await placeOrder(app, customerId));
      broken = await placeOrder(app, customerId);
      await app.db.query(`INSERT INTO broken_orders (id) VALUES ($1)`, [broken]);
      after.push(await placeOrder(app, customerId), await placeOrder(app, customerId));
    });
    const brokenEvent = await eventOf(app, broken, 'OrderPlaced');
    const lastEvent = await eventOf(app, after[1], 'OrderPlaced');

    // Everything before it is applied; the checkpoint stays right before it.
    for (const id of before) await eventually(async () => expect(await projected(app, id)).toBe(true));
    await eventually(async () => expect(await failedAttempts(app, ORDER_SUMMARIES)).toBeGreaterThanOrEqual(3));
    expect(await checkpointOf(app, ORDER_SUMMARIES)).toBe(brokenEvent.position - 1n);
    for (const id of [broken, ...after]) expect(await projected(app, id)).toBe(false);

    // The other readers (the relay: the saga is off) go past it.
    await eventually(async () => expect(await checkpointOf(app, RELAY_CHECKPOINT)).toBeGreaterThanOrEqual(lastEvent.position));

    // /health: 503, naming the subscription, the event and the error; lag in events and seconds.
    const { status, body } = await health(app);
    expect(status).toBe(503);
    expect(body.details.postgres.status).toBe('up');
    expect(body.details.subscriptions.status).toBe('down');
    expect(body.details.subscriptions.stopped).toEqual([ORDER_SUMMARIES]);
    const reader = body.details.subscriptions.readers[ORDER_SUMMARIES];
    expect(reader).toMatchObject({
      checkpoint: Number(brokenEvent.position - 1n),
      stoppedAt: { eventId: brokenEvent.eventId, globalPosition: Number(brokenEvent.position), eventType: 'OrderPlaced' },
      attempts: expect.any(Number),
      since: expect.any(String),
    });
    expect(reader.error).toContain(`order ${broken} cannot be projected (test fault)`);
    expect(reader.lagEvents).toBeGreaterThanOrEqual(3);
    expect(reader.lagSeconds).toBeGreaterThan(0);
    expect(body.details.subscriptions.readers[RELAY_CHECKPOINT]).toEqual({
      checkpoint: expect.any(Number),
      lagEvents: 0,
      lagSeconds: 0,
    });

    // The operator's view.
    const listed = await subscriptionsCli(app, 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${ORDER_SUMMARIES}\tcheckpoint ${brokenEvent.position - 1n}\t`);
    expect(listed.stdout).toContain(`STOPPED at OrderPlaced ${brokenEvent.eventId} (position ${brokenEvent.position})`);
    expect(listed.stdout).toMatch(new RegExp(`${RELAY_CHECKPOINT}\\tcheckpoint \\d+\\tlag 0 event\\(s\\), 0 s\\tok`));

    // Only the event it is stopped at can be skipped, and only on a stopped subscription.
    const wrongEvent = await subscriptionsCli(app, 'skip', ORDER_SUMMARIES, '--event', (await eventOf(app, after[0], 'OrderPlaced')).eventId, '--reason', 'r');
    expect(wrongEvent.code).toBe(1);
    expect(wrongEvent.stderr).toContain(`refused: ${ORDER_SUMMARIES} is stopped at OrderPlaced ${brokenEvent.eventId}`);
    const notStopped = await subscriptionsCli(app, 'skip', RELAY_CHECKPOINT, '--event', brokenEvent.eventId, '--reason', 'r');
    expect(notStopped.code).toBe(1);
    expect(notStopped.stderr).toContain(`refused: ${RELAY_CHECKPOINT} is not stopped at any event`);
    expect((await subscriptionsCli(app, 'skip', 'projection:nope', '--event', brokenEvent.eventId, '--reason', 'r')).code).toBe(1);
    expect((await subscriptionsCli(app, 'skip', ORDER_SUMMARIES, '--event', brokenEvent.eventId)).code).toBe(2); // no reason
    expect(await checkpointOf(app, ORDER_SUMMARIES)).toBe(brokenEvent.position - 1n);

    const skipped = await subscriptionsCli(app, 'skip', ORDER_SUMMARIES, '--event', brokenEvent.eventId, '--reason', 'order refused by the read model', '--by', 'ops-ada');
    expect(skipped).toMatchObject({ code: 0 });
    expect(skipped.stderr).toContain(`${ORDER_SUMMARIES} skipped OrderPlaced ${brokenEvent.eventId}`);

    // It goes on after the event at once (the skip wakes it), without the skipped one.
    for (const id of after) await eventually(async () => expect(await projected(app, id)).toBe(true), 3000);
    expect(await projected(app, broken)).toBe(false);
    const [audit] = await app.db.query(
      `SELECT subscription_id, event_id, global_position::text AS position, event_type, skipped_by, reason, failed_attempts, last_error, skipped_at
       FROM skipped_events`,
    );
    expect(audit).toMatchObject({
      subscription_id: ORDER_SUMMARIES,
      event_id: brokenEvent.eventId,
      position: String(brokenEvent.position),
      event_type: 'OrderPlaced',
      skipped_by: 'ops-ada',
      reason: 'order refused by the read model',
    });
    expect(audit.failed_attempts).toBeGreaterThanOrEqual(2);
    expect(audit.last_error).toContain('cannot be projected');

    await eventually(async () => {
      const healthy = await health(app);
      expect(healthy.status).toBe(200);
      expect(healthy.body.details.subscriptions.stopped).toEqual([]);
      expect(healthy.body.details.subscriptions.readers[ORDER_SUMMARIES]).toEqual({ checkpoint: expect.any(Number), lagEvents: 0, lagSeconds: 0 });
    });
  }, 60_000);

  it('applies the event once an operator fixed the cause and asked for a retry, without waiting out the back-off', async () => {
    let broken = '';
    await placeWhileStopped(async () => {
      broken = await placeOrder(app, customerId);
      await app.db.query(`INSERT INTO broken_orders (id) VALUES ($1)`, [broken]);
    });
    // Attempts 1…6 come after 0.2, 0.4, 0.8, 1.6 and 3.2 s; the 7th would come 6.4 s after the 6th.
    await eventually(async () => expect(await failedAttempts(app, ORDER_SUMMARIES)).toBe(6), 15_000);
    const retryAsked = Date.now();
    await app.db.query(`DELETE FROM broken_orders`);
    const retried = await subscriptionsCli(app, 'retry', ORDER_SUMMARIES);
    expect(retried.code).toBe(0);
    expect(retried.stderr).toContain(`retry requested for ${ORDER_SUMMARIES}: it tries OrderPlaced`);

    await eventually(async () => expect(await projected(app, broken)).toBe(true), 5000);
    expect(Date.now() - retryAsked).toBeLessThan(5000);
    expect(await failedAttempts(app, ORDER_SUMMARIES)).toBe(0);
    expect((await health(app)).status).toBe(200);
    expect((await subscriptionsCli(app, 'retry', 'projection:nope')).code).toBe(1);
  }, 60_000);
});

describe('the relay stopped by an event it cannot map', () => {
  let app: TestApp;
  afterAll(() => app.close());

  it('publishes what comes before it, stops at it with back-off, reports it, and relays the rest after a skip', async () => {
    app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    const first = await registerUser(app);
    await eventually(async () => expect(await checkpointOf(app, RELAY_CHECKPOINT)).toBe((await eventOf(app, first, 'UserRegistered')).position));

    // A hand-written event whose time is no timestamp: no CloudEvent can carry it. The
    // projection does not mind (it changes the email of a user nobody knows).
    const stranger = randomUUID();
    const brokenId = randomUUID();
    await app.db.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
       VALUES ($1, 'User', $2, 2, 'UserEmailChanged', $3, '{"correlationId":"c","causationId":"c","occurredAt":"yesterday"}')`,
      [brokenId, stranger, JSON.stringify({ userId: stranger, email: 'x@example.com', changedAt: 'yesterday' })],
    );
    await app.app.get(EventSequencer).sequencePending();
    const later = await registerUser(app);
    const broken = await eventOf(app, stranger, 'UserEmailChanged');
    const laterEvent = await eventOf(app, later, 'UserRegistered');

    await eventually(async () => expect(await failedAttempts(app, RELAY_CHECKPOINT)).toBeGreaterThanOrEqual(4));
    expect(await checkpointOf(app, RELAY_CHECKPOINT)).toBe(broken.position - 1n);
    await eventually(async () => expect(await checkpointOf(app, ORDER_SUMMARIES)).toBeGreaterThanOrEqual(laterEvent.position));
    await eventually(async () => expect((await app.http().get(`/users/${later}`)).status).toBe(200));

    const { status, body } = await health(app);
    expect(status).toBe(503);
    expect(body.details.rabbitmq.status).toBe('up');
    expect(body.details.subscriptions.stopped).toEqual([RELAY_CHECKPOINT]);
    const relay = body.details.subscriptions.readers[RELAY_CHECKPOINT];
    expect(relay.stoppedAt).toEqual({ eventId: brokenId, globalPosition: Number(broken.position), eventType: 'UserEmailChanged' });
    expect(relay.error).toContain(`UserEmailChanged ${brokenId} cannot be mapped to an integration event`);
    expect(relay.lagEvents).toBeGreaterThanOrEqual(2);
    expect(relay.lagSeconds).toBeGreaterThan(0);

    // Back-off: attempts double their interval instead of following every new event.
    const attempts = await failedAttempts(app, RELAY_CHECKPOINT);
    for (let i = 0; i < 20; i++) await registerUser(app);
    expect(await failedAttempts(app, RELAY_CHECKPOINT)).toBeLessThanOrEqual(attempts + 2);

    const skipped = await subscriptionsCli(app, 'skip', RELAY_CHECKPOINT, '--event', brokenId, '--reason', 'unpublishable hand-written event');
    expect(skipped.code).toBe(0);
    await eventually(async () => expect(await app.db.query(`SELECT 1 FROM events WHERE global_position > (SELECT global_position FROM subscription_checkpoints WHERE subscription_id = $1)`, [RELAY_CHECKPOINT])).toEqual([]), 3000);
    await eventually(async () => expect((await health(app)).status).toBe(200));
  }, 60_000);
});

describe('subscription lag', () => {
  let dataSource: DataSource;
  let drop: () => Promise<void>;
  const HEAD = 20_000;

  beforeAll(async () => {
    ({ dataSource, drop } = await createMigratedDataSource());
    // A store of 20,000 numbered events recorded a second apart, ending an hour ago.
    await dataSource.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata, recorded_at, global_position)
       SELECT gen_random_uuid(), 'Test', gen_random_uuid(), 1, 'Tested', '{}', '{}', now() - interval '1 hour' - ($1 - n) * interval '1 second', n
       FROM generate_series(1, $1::int) AS n`,
      [HEAD],
    );
    await dataSource.query(`ANALYZE events`);
  });
  afterAll(() => drop());

  it('is computed from indexes only: the plan has no sequential scan over the events', async () => {
    await dataSource.query(`INSERT INTO subscription_checkpoints (subscription_id, global_position) VALUES ('a', 10), ('b', 19000)`);
    const plan: Array<{ 'QUERY PLAN': string }> = await dataSource.query(`EXPLAIN ${SUBSCRIPTION_STATUS_SQL}`);
    const text = plan.map((line) => line['QUERY PLAN']).join('\n');
    expect(text).toContain('events_global_position_key');
    expect(text).not.toMatch(/Seq Scan on events/);
  });

  it('counts the events beyond each checkpoint and the unnumbered ones, and ages the oldest one not taken', async () => {
    await dataSource.query(`TRUNCATE subscription_checkpoints`);
    await dataSource.query(`INSERT INTO subscription_checkpoints (subscription_id, global_position) VALUES ('behind', 18200), ('caught-up', $1)`, [HEAD]);
    const byId = async () => new Map((await readSubscriptionStatuses(dataSource)).map((status) => [status.subscriptionId, status]));

    let statuses = await byId();
    // Event 18,201 was recorded 1,800 s before the last one, which is an hour old.
    expect(statuses.get('behind')).toMatchObject({ checkpoint: 18_200, lagEvents: 1_800 });
    expect(statuses.get('behind')!.lagSeconds).toBeGreaterThanOrEqual(3600 + 1799);
    expect(statuses.get('behind')!.lagSeconds).toBeLessThan(3600 + 1799 + 60);
    expect(statuses.get('caught-up')).toEqual({ subscriptionId: 'caught-up', checkpoint: HEAD, lagEvents: 0, lagSeconds: 0 });

    // Committed, not numbered yet: counted for everyone, and aged.
    await dataSource.query(
      `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata, recorded_at)
       VALUES (gen_random_uuid(), 'Test', gen_random_uuid(), 1, 'Tested', '{}', '{}', now() - interval '5 seconds')`,
    );
    statuses = await byId();
    expect(statuses.get('behind')!.lagEvents).toBe(1_801);
    expect(statuses.get('caught-up')!.lagEvents).toBe(1);
    expect(statuses.get('caught-up')!.lagSeconds).toBeGreaterThanOrEqual(5);
    expect(statuses.get('caught-up')!.lagSeconds).toBeLessThan(65);
  });
});

/** Whether the order-summaries projection holds the order (GET /orders/{id} reads the write model). */
async function projected(app: TestApp, orderId: string): Promise<boolean> {
  const rows: unknown[] = await app.db.query(`SELECT 1 FROM order_summaries WHERE id = $1`, [orderId]);
  return rows.length > 0;
}
