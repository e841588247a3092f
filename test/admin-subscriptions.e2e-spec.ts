import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { SCOPES } from '../src/auth/scopes';
import { countEventsAfter, EventSubscriptions, readSubscriptionStatuses } from '../src/event-store';
import { RELAY_CHECKPOINT } from '../src/messaging/relay/outbox-relay';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { runBuiltCli } from './support/built-cli';
import { placeOrder, refuseOrderSummariesOfBrokenOrders, registerUser } from './support/fixtures';
import { testToken } from './support/test-auth';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

/** The admin API's view of the event store's readers: position and lag, retry and skip of a stopped one, pause and resume. */

const ORDER_SUMMARIES = orderSummariesProjection.subscriptionId;
const SAGA = 'reaction:order-fulfilment';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk arbitrary JSON
type Json = Record<string, any>;

function expectProblem(response: Response, status: number, code: string): void {
  expect({ status: response.status, contentType: response.headers['content-type'], code: response.body.code }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
    code,
  });
}

const path = (subscriptionId: string, action = '') => `/admin/subscriptions/${encodeURIComponent(subscriptionId)}${action && `/${action}`}`;

async function statusOf(app: TestApp, subscriptionId: string): Promise<Json> {
  const response = await app.http().get(path(subscriptionId)).expect(200);
  return response.body;
}

async function checkpointOf(app: TestApp, subscriptionId: string): Promise<number> {
  const [row] = await app.db.query(`SELECT min(global_position)::int AS position FROM subscription_checkpoints WHERE subscription_id = $1`, [subscriptionId]);
  return row.position;
}

async function eventOf(app: TestApp, streamId: string, eventType: string): Promise<{ eventId: string; position: number }> {
  return eventually(async () => {
    const [row] = await app.db.query(
      `SELECT event_id AS "eventId", global_position::int AS position FROM events WHERE stream_id = $1 AND event_type = $2 AND global_position IS NOT NULL`,
      [streamId, eventType],
    );
    expect(row).toBeDefined();
    return row;
  });
}

async function projected(app: TestApp, orderId: string): Promise<boolean> {
  return (await app.db.query(`SELECT 1 FROM order_summaries WHERE id = $1`, [orderId])).length > 0;
}

describe('the admin API on the readers of the event store', () => {
  let app: TestApp;
  let customerId: string;
  let ops: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    customerId = await registerUser(app);
    await refuseOrderSummariesOfBrokenOrders(app);
    ops = await testToken({ subject: 'ops-ada', scopes: ['admin'] });
  });
  afterAll(() => app?.close());

  /** Places orders while the projection is stopped, so that it meets them in one batch. */
  async function placeWhileStopped(place: () => Promise<void>): Promise<void> {
    const projection = app.app.get(EventSubscriptions).get(ORDER_SUMMARIES);
    await projection.stop();
    await place();
    await projection.start();
  }

  it("lists every reader with its checkpoint and lag, as the store's checkpoints say", async () => {
    const { body } = await app.http().get('/admin/subscriptions').expect(200);
    const ids = (body.items as Json[]).map((item) => item.subscriptionId);
    expect(ids).toEqual(expect.arrayContaining([ORDER_SUMMARIES, RELAY_CHECKPOINT, SAGA]));
    const statuses = await readSubscriptionStatuses(app.db);
    expect(ids.sort()).toEqual(statuses.map(({ subscriptionId }) => subscriptionId).sort());
    const relay = (body.items as Json[]).find((item) => item.subscriptionId === RELAY_CHECKPOINT);
    expect(relay).toEqual({
      subscriptionId: RELAY_CHECKPOINT,
      kind: 'relay',
      state: 'running',
      checkpoint: expect.any(Number),
      lagEvents: expect.any(Number),
      lagSeconds: expect.any(Number),
      failure: null,
      paused: null,
      segments: null,
    });
    expect((body.items as Json[]).find((item) => item.subscriptionId === SAGA)).toMatchObject({ kind: 'reaction' });

    // The lag is exact: the order summaries wait (paused) while two orders are placed; the relay does not.
    // Every committed event numbered and taken: nothing else writes meanwhile.
    await eventually(async () => expect(await countEventsAfter(app.db, ORDER_SUMMARIES)).toBe(0));
    const [{ head }] = await app.db.query(`SELECT max(global_position)::int AS head FROM events`);
    await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'pause')).send({ reason: 'counting the lag' }).expect(200);
    await placeOrder(app, customerId);
    await placeOrder(app, customerId);
    await eventually(async () => expect(await checkpointOf(app, RELAY_CHECKPOINT)).toBe(head + 2));
    const summaries = await statusOf(app, ORDER_SUMMARIES);
    expect(summaries).toMatchObject({ subscriptionId: ORDER_SUMMARIES, kind: 'projection', state: 'paused', checkpoint: head, lagEvents: 2 });
    expect(summaries.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(await statusOf(app, RELAY_CHECKPOINT)).toMatchObject({ checkpoint: head + 2, lagEvents: 0, lagSeconds: 0 });
    await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'resume')).expect(200);
    await eventually(async () => expect(await statusOf(app, ORDER_SUMMARIES)).toMatchObject({ state: 'running', checkpoint: head + 2, lagEvents: 0 }));
  });

  it('shows a projection stopped at an event, retries it once the cause is fixed without waiting out the back-off', async () => {
    let broken = '';
    await placeWhileStopped(async () => {
      broken = await placeOrder(app, customerId);
      await app.db.query(`INSERT INTO broken_orders (id) VALUES ($1)`, [broken]);
    });
    const event = await eventOf(app, broken, 'OrderPlaced');

    // Attempts 1…6 come after 0.2, 0.4, 0.8, 1.6 and 3.2 s; the 7th would come 6.4 s after the 6th.
    const stopped = await eventually(async () => {
      const status = await statusOf(app, ORDER_SUMMARIES);
      expect(status.failure?.attempts).toBe(6);
      return status;
    }, 15_000);
    expect(stopped).toMatchObject({
      state: 'stopped',
      checkpoint: event.position - 1,
      failure: { stoppedAt: { eventId: event.eventId, globalPosition: event.position, eventType: 'OrderPlaced' }, attempts: 6 },
    });
    expect(stopped.failure.error).toContain(`order ${broken} cannot be projected (test fault)`);
    expect(stopped.lagEvents).toBeGreaterThanOrEqual(1);
    expect(Date.parse(stopped.failure.since)).toBeLessThanOrEqual(Date.parse(stopped.failure.lastAttemptAt));

    await app.db.query(`DELETE FROM broken_orders`);
    const asked = Date.now();
    const retried = await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'retry')).expect(202);
    expect(retried.body).toMatchObject({ subscriptionId: ORDER_SUMMARIES, state: 'stopped' });
    await eventually(async () => expect(await projected(app, broken)).toBe(true), 5000);
    expect(Date.now() - asked).toBeLessThan(5000);
    expect(await statusOf(app, ORDER_SUMMARIES)).toMatchObject({ state: 'running', failure: null });

    // Nothing to retry on a reader that is not stopped.
    expectProblem(await app.http().post(path(ORDER_SUMMARIES, 'retry')), 409, 'SUBSCRIPTION_NOT_STOPPED');
  }, 60_000);

  it('skips only the event a stopped projection is stopped at, records who and why, and the projection goes on', async () => {
    let broken = '';
    const after: string[] = [];
    await placeWhileStopped(async () => {
      broken = await placeOrder(app, customerId);
      await app.db.query(`INSERT INTO broken_orders (id) VALUES ($1)`, [broken]);
      after.push(await placeOrder(app, customerId), await placeOrder(app, customerId));
    });
    const event = await eventOf(app, broken, 'OrderPlaced');
    await eventually(async () => expect(await statusOf(app, ORDER_SUMMARIES)).toMatchObject({ state: 'stopped', failure: { stoppedAt: { eventId: event.eventId } } }));

    const laterEvent = (await eventOf(app, after[0], 'OrderPlaced')).eventId;
    const wrong = await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'skip')).send({ eventId: laterEvent, reason: 'wrong one' });
    expectProblem(wrong, 409, 'SUBSCRIPTION_STOPPED_AT_ANOTHER_EVENT');
    expect(wrong.body.detail).toContain(`stopped at OrderPlaced ${event.eventId}`);
    // A reader that is not stopped (the relay) has nothing to skip, whatever the event.
    expectProblem(await app.http({ token: ops }).post(path(RELAY_CHECKPOINT, 'skip')).send({ eventId: event.eventId, reason: 'r' }), 409, 'SUBSCRIPTION_NOT_STOPPED');
    expectProblem(await app.http({ token: ops }).post(path('projection:nope', 'skip')).send({ eventId: event.eventId, reason: 'r' }), 404, 'SUBSCRIPTION_NOT_FOUND');
    for (const body of [{ eventId: event.eventId }, { eventId: event.eventId, reason: '   ' }, { eventId: 'not-a-uuid', reason: 'r' }, { eventId: event.eventId, reason: 'r', by: 'someone else' }]) {
      expectProblem(await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'skip')).send(body), 400, 'VALIDATION_FAILED');
    }
    expect(await checkpointOf(app, ORDER_SUMMARIES)).toBe(event.position - 1);

    const skipped = await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'skip')).send({ eventId: event.eventId, reason: ' order refused by the read model ' }).expect(200);
    expect(skipped.body).toEqual({
      subscriptionId: ORDER_SUMMARIES,
      skipped: { eventId: event.eventId, globalPosition: event.position, eventType: 'OrderPlaced' },
      attempts: expect.any(Number),
      skippedBy: 'ops-ada',
      reason: 'order refused by the read model',
    });

    for (const id of after) await eventually(async () => expect(await projected(app, id)).toBe(true), 3000);
    expect(await projected(app, broken)).toBe(false);
    const audit = await app.db.query(`SELECT event_id AS "eventId", skipped_by AS "by", reason FROM skipped_events WHERE subscription_id = $1`, [ORDER_SUMMARIES]);
    expect(audit).toEqual([{ eventId: event.eventId, by: 'ops-ada', reason: 'order refused by the read model' }]);
    await app.db.query(`DELETE FROM broken_orders`);
  }, 60_000);

  it('pauses a projection durably: it takes nothing, shows who paused it and why, /health stays 200, and it catches up once resumed', async () => {
    // Every committed event numbered and taken: the order placed below is the only one it lacks.
    await eventually(async () => expect(await countEventsAfter(app.db, ORDER_SUMMARIES)).toBe(0));
    const paused = await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'pause')).send({ reason: 'summary table maintenance' }).expect(200);
    expect(paused.body).toMatchObject({ state: 'paused', paused: { by: 'ops-ada', reason: 'summary table maintenance', since: expect.any(String) } });
    const conflict = await app.http().post(path(ORDER_SUMMARIES, 'pause')).send({ reason: 'again' });
    expectProblem(conflict, 409, 'SUBSCRIPTION_ALREADY_PAUSED');
    expect(conflict.body.detail).toContain('by ops-ada');

    const newcomer = await placeOrder(app, customerId);
    const placed = await eventOf(app, newcomer, 'OrderPlaced');
    await eventually(async () => expect(await checkpointOf(app, RELAY_CHECKPOINT)).toBeGreaterThanOrEqual(placed.position));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await projected(app, newcomer)).toBe(false);
    expect(await statusOf(app, ORDER_SUMMARIES)).toMatchObject({ state: 'paused', checkpoint: placed.position - 1, lagEvents: 1 });

    // Paused on purpose: no outage.
    const health = await app.http().get('/health').expect(200);
    expect(health.body.details.subscriptions.readers[ORDER_SUMMARIES]).toMatchObject({
      lagEvents: 1,
      paused: { by: 'ops-ada', reason: 'summary table maintenance', since: paused.body.paused.since },
    });
    // The CLI reads the same state.
    const listed = await runBuiltCli('dist/src/cli/subscriptions.js', app.databaseUrl, 'list');
    expect(listed.stdout).toContain(`PAUSED: paused by ops-ada since ${paused.body.paused.since}: summary table maintenance`);

    const resumed = await app.http({ token: ops }).post(path(ORDER_SUMMARIES, 'resume')).expect(200);
    expect(resumed.body).toMatchObject({ state: 'running', paused: null });
    await eventually(async () => expect(await projected(app, newcomer)).toBe(true), 2000);
    expectProblem(await app.http().post(path(ORDER_SUMMARIES, 'resume')), 409, 'SUBSCRIPTION_NOT_PAUSED');
  });

  it('pauses and resumes through the CLI with the same effect', async () => {
    const paused = await runBuiltCli('dist/src/cli/subscriptions.js', app.databaseUrl, 'pause', ORDER_SUMMARIES, '--reason', 'from the shell', '--by', 'ops-bob');
    expect(paused).toMatchObject({ code: 0 });
    expect(await statusOf(app, ORDER_SUMMARIES)).toMatchObject({ state: 'paused', paused: { by: 'ops-bob', reason: 'from the shell' } });
    const newcomer = await placeOrder(app, customerId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await projected(app, newcomer)).toBe(false);
    expect((await runBuiltCli('dist/src/cli/subscriptions.js', app.databaseUrl, 'pause', ORDER_SUMMARIES, '--reason', 'twice')).code).toBe(1);
    expect((await runBuiltCli('dist/src/cli/subscriptions.js', app.databaseUrl, 'resume', ORDER_SUMMARIES)).code).toBe(0);
    await eventually(async () => expect(await projected(app, newcomer)).toBe(true), 2000);
    expect((await runBuiltCli('dist/src/cli/subscriptions.js', app.databaseUrl, 'resume', ORDER_SUMMARIES)).code).toBe(1);
  });

  it('answers 404 for an unknown subscription and 400 for a malformed id or body', async () => {
    for (const [method, action, body] of [
      ['get', '', undefined],
      ['post', 'retry', undefined],
      ['post', 'pause', { reason: 'r' }],
      ['post', 'resume', undefined],
    ] as const) {
      const request = app.http()[method](path('projection:nope', action));
      const response = await (body ? request.send(body) : request);
      expectProblem(response, 404, 'SUBSCRIPTION_NOT_FOUND');
      expect(response.body.detail).toContain(ORDER_SUMMARIES);
    }
    expectProblem(await app.http().get(path('projection nope')), 400, 'VALIDATION_FAILED');
    expectProblem(await app.http().post(path(ORDER_SUMMARIES, 'pause')).send({}), 400, 'VALIDATION_FAILED');
    expectProblem(await app.http().post(path(ORDER_SUMMARIES, 'pause')).send({ reason: 'x'.repeat(501) }), 400, 'VALIDATION_FAILED');
    expect((await statusOf(app, ORDER_SUMMARIES)).state).toBe('running');
  });
});

describe('a pause of a reaction and of the relay', () => {
  let app: TestApp | undefined;
  afterAll(() => app?.close());

  it('holds across a restart of the process; resumed, the saga and the relay go on from where they were', async () => {
    const first = await startTestApp();
    app = first;
    const customerId = await registerUser(first);
    const { position } = await eventOf(first, customerId, 'UserRegistered');
    await eventually(async () => {
      expect(await checkpointOf(first, RELAY_CHECKPOINT)).toBe(position);
      expect(await checkpointOf(first, SAGA)).toBe(position);
    });
    await first.http().post(path(SAGA, 'pause')).send({ reason: 'credit service maintenance' }).expect(200);
    await first.http().post(path(RELAY_CHECKPOINT, 'pause')).send({ reason: 'broker maintenance' }).expect(200);
    const relayedUpTo = await checkpointOf(first, RELAY_CHECKPOINT);

    const orderId = await placeOrder(first, customerId);
    // The Users module's saga (not paused) reserves the credit; the paused Orders saga does not take the answer.
    await eventOf(first, customerId, 'CreditReserved');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await first.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('PENDING');
    expect(await checkpointOf(first, RELAY_CHECKPOINT)).toBe(relayedUpTo);

    // Another process on the same store and broker, after this one stopped.
    await first.close({ keepDatabase: true });
    app = undefined;
    const second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix });
    app = second;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await second.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('PENDING');
    expect(await checkpointOf(second, RELAY_CHECKPOINT)).toBe(relayedUpTo);
    // Behind by OrderPlaced and CreditReserved.
    expect(await statusOf(second, SAGA)).toMatchObject({ state: 'paused', paused: { reason: 'credit service maintenance', by: 'test-client' }, lagEvents: 2 });
    expect(await statusOf(second, RELAY_CHECKPOINT)).toMatchObject({ state: 'paused', lagEvents: 2 });
    // Paused on purpose: no outage.
    await second.http().get('/health').expect(200);

    await second.http().post(path(SAGA, 'resume')).expect(200);
    await eventually(async () => expect((await second.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('CONFIRMED'), 3000);
    // The saga's events wait for the relay too.
    const [{ head }] = await second.db.query(`SELECT max(global_position)::int AS head FROM events`);
    expect(await checkpointOf(second, RELAY_CHECKPOINT)).toBe(relayedUpTo);
    await second.http().post(path(RELAY_CHECKPOINT, 'resume')).expect(200);
    await eventually(async () => expect(await checkpointOf(second, RELAY_CHECKPOINT)).toBeGreaterThanOrEqual(head), 3000);
  }, 60_000);
});

describe('admission control and the admin API', () => {
  let app: TestApp | undefined;
  let lease: Client | undefined;
  afterAll(async () => {
    await lease?.end();
    await app?.close();
  });

  it('never sheds an operator\'s request, and counts no paused reader: pausing a lagging saga opens the door again', async () => {
    const databaseUrl = await createTestDatabase();
    // The saga's only segment leased by this test (as by a process that runs it slowly): it takes nothing.
    lease = new Client({ connectionString: databaseUrl });
    await lease.connect();
    await lease.query(`SELECT pg_advisory_lock(hashtext($1), 0)`, [`${SAGA}/1`]);
    app = await startTestApp({
      databaseUrl,
      env: { ADMISSION_CONTROL: 'on', ADMISSION_MAX_LAG_MS: '300', ADMISSION_SAMPLE_MS: '50', ORDER_CONFIRMATION_TIMEOUT_MS: '600000' },
    });
    const started = app;
    const customerId = await registerUser(started);
    await placeOrder(started, customerId);
    const order = () => started.http().post('/orders').send({ customerId, currency: 'EUR', lines: [{ sku: 'A', quantity: 1, unitPrice: 1 }] });
    await eventually(async () => expectProblem(await order(), 503, 'LOAD_SHED'));

    // Shedding, yet the operator's request is served.
    await started.http().post(path(SAGA, 'pause')).send({ reason: 'lagging: set aside until the credit service is back' }).expect(200);
    // The paused saga no longer counts: commands are taken again (its backlog waits for the resume).
    await eventually(async () => expect((await order()).status).toBe(202));
  }, 30_000);
});

describe('the admin API refuses callers without the admin scope', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REACTIONS_ENABLED: 'false', RELAY_ENABLED: 'false' } });
  });
  afterAll(() => app?.close());

  const id = randomUUID();
  /** Every admin endpoint, with a request that would get past the guard (rows of three: jest would take a missing one for `done`). */
  const ADMIN_ENDPOINTS: Array<[method: 'get' | 'post', path: string, body: object | undefined]> = [
    ['get', '/admin/subscriptions', undefined],
    ['get', path(ORDER_SUMMARIES), undefined],
    ['post', path(ORDER_SUMMARIES, 'retry'), undefined],
    ['post', path(ORDER_SUMMARIES, 'skip'), { eventId: id, reason: 'r' }],
    ['post', path(ORDER_SUMMARIES, 'pause'), { reason: 'r' }],
    ['post', path(ORDER_SUMMARIES, 'resume'), undefined],
    ['get', '/admin/parked-reactions', undefined],
    ['post', '/admin/parked-reactions/retry', undefined],
    ['post', `/admin/parked-reactions/${encodeURIComponent(SAGA)}/${id}/retry`, undefined],
    ['get', '/admin/dead-letters', undefined],
    ['post', '/admin/dead-letters/redrive', undefined],
    ['post', `/admin/dead-letters/${id}/redrive`, undefined],
    ['get', '/admin/projections', undefined],
    ['post', '/admin/projections/order-summaries/rebuilds', {}],
    ['get', `/admin/projections/order-summaries/rebuilds/${id}`, undefined],
    ['post', `/admin/streams/${id}/republish`, undefined],
  ];

  it('documents exactly these admin operations', async () => {
    const document = (await app.http({ token: null }).get('/docs-json').expect(200)).body as Json;
    const documented = Object.entries(document.paths as Json)
      .filter(([template]) => template.startsWith('/admin/'))
      .flatMap(([template, item]) => Object.keys(item as Json).map((method) => `${method} ${template}`));
    expect(documented).toHaveLength(ADMIN_ENDPOINTS.length);
    for (const name of documented) expect(document.paths[name.split(' ')[1]][name.split(' ')[0]]['x-required-scopes']).toEqual(['admin']);
  });

  it.each(ADMIN_ENDPOINTS)('%s %s: 403 to a token with every scope but admin, 401 without a token', async (method, target, body) => {
    const send = (token: string | null) => {
      const request = app.http({ token })[method](target);
      return body ? request.send(body) : request;
    };
    const before = await app.db.query(`SELECT (SELECT count(*) FROM paused_subscriptions)::int AS paused, (SELECT count(*) FROM projection_rebuild_jobs)::int AS jobs`);
    const forbidden = await send(await testToken({ scopes: SCOPES.filter((scope) => scope !== 'admin') }));
    expectProblem(forbidden, 403, 'INSUFFICIENT_SCOPE');
    expect(forbidden.headers['www-authenticate']).toMatch(/scope="admin"/);
    expectProblem(await send(null), 401, 'TOKEN_MISSING');
    expect(await app.db.query(`SELECT (SELECT count(*) FROM paused_subscriptions)::int AS paused, (SELECT count(*) FROM projection_rebuild_jobs)::int AS jobs`)).toEqual(before);
  });
});
