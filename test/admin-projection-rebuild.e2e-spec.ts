import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { acquireRebuildLock, countEventsAfter, EventStoreManifests, type ProjectionDefinition, type StoredEvent } from '../src/event-store';
import { AfterListening } from '../src/shared/after-listening';
import { OrderPlacedEvent } from '../src/modules/orders/domain/order.events';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { ApiProcess } from './support/api-process';
import { runBuiltCli } from './support/built-cli';
import { placeOrder, registerUser } from './support/fixtures';
import { TEST_RABBITMQ_URL } from './support/test-broker';
import { eventually, startTestApp, TestApp } from './support/test-app';

/** Projection rebuilds as jobs of the admin API: started with POST, followed with GET, one at a time, interrupted and not lost. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk arbitrary JSON
type Json = Record<string, any>;

const REBUILDS = '/admin/projections/order-summaries/rebuilds';
const LIVE_PROJECTOR = orderSummariesProjection.subscriptionId;

function expectProblem(response: Response, status: number, code: string): void {
  expect({ status: response.status, contentType: response.headers['content-type'], code: response.body.code }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
    code,
  });
}

/**
 * A second projection, registered for this file only beside the app's one (order_summaries):
 * what is per projection (one rebuild at a time, the path of a job) needs another. One row per
 * placed order; applying an event twice changes nothing.
 */
const PLACED_ORDERS: ProjectionDefinition = {
  name: 'placed-orders',
  subscriptionId: 'projection:placed-orders',
  table: 'placed_orders',
  canHandle: [OrderPlacedEvent.type],
  async apply(events: StoredEvent[], db, table) {
    if (events.length === 0) return;
    await db.query(`INSERT INTO ${table} (id) SELECT unnest($1::uuid[]) ON CONFLICT (id) DO NOTHING`, [events.map((event) => event.streamId)]);
  },
};
const appProjections = Object.getOwnPropertyDescriptor(EventStoreManifests.prototype, 'projections')!.get!;
jest.spyOn(EventStoreManifests.prototype, 'projections', 'get').mockImplementation(function (this: EventStoreManifests) {
  return [...appProjections.call(this), PLACED_ORDERS];
});

let app: TestApp;

beforeAll(async () => {
  // The saga is off: the events are the ones the requests below write. Readers start once the
  // second projection's table exists.
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' }, startReaders: false });
  await app.db.query(`CREATE TABLE ${PLACED_ORDERS.table} (id uuid PRIMARY KEY)`);
  await app.app.get(AfterListening).start();
  const customers = [await registerUser(app), await registerUser(app), await registerUser(app)];
  const orders: string[] = [];
  for (let i = 0; i < 45; i++) orders.push(await placeOrder(app, customers[i % customers.length]));
  for (const orderId of orders.slice(0, 15)) await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);
  await liveProjectionCaughtUp();
});
afterAll(() => app?.close());

/** Every committed event, numbered or not yet, is in the live table. */
async function liveProjectionCaughtUp(): Promise<void> {
  await eventually(async () => expect(await countEventsAfter(app.db, LIVE_PROJECTOR)).toBe(0));
}

function liveRows(): Promise<Json[]> {
  return app.db.query(`SELECT * FROM order_summaries ORDER BY id`);
}

async function tableOid(table: string): Promise<number | null> {
  const [{ oid }] = await app.db.query(`SELECT to_regclass($1)::oid::bigint::int AS oid`, [table]);
  return oid;
}

async function eventCount(): Promise<number> {
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events`);
  return n;
}

/** GETs the job until it is no longer running; returns every state seen. */
async function followToTheEnd(location: string, via: TestApp = app): Promise<Json[]> {
  const seen: Json[] = [];
  await eventually(async () => {
    const { body } = await via.http().get(location).expect(200);
    seen.push(body);
    expect(body.status).not.toBe('running');
  }, 30_000);
  return seen;
}

/**
 * Holds the live projector's checkpoint row, as a long batch of it would: a rebuild replays the
 * store, then waits there before it catches the live table up and swaps (the live projector
 * skips the row meanwhile). `release()` lets it go on.
 */
async function holdLiveCheckpoint(): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: app.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`SELECT 1 FROM subscription_checkpoints WHERE subscription_id = $1 FOR UPDATE`, [LIVE_PROJECTOR]);
  return {
    async release() {
      await client.query('COMMIT');
      await client.end();
    },
  };
}

/** Waits until the job replayed the whole store and is waiting to swap. */
async function replayed(location: string, via: { get(path: string): Promise<Json> }): Promise<Json> {
  const total = await eventCount();
  return eventually(async () => {
    const job = await via.get(location);
    expect(job).toMatchObject({ status: 'running', progress: { eventsDone: total } });
    return job;
  }, 20_000);
}

const viaApp = { get: async (location: string) => (await app.http().get(location).expect(200)).body as Json };

describe('a projection rebuild through the admin API', () => {
  it('lists the projections it can rebuild', async () => {
    const { body } = await app.http().get('/admin/projections').expect(200);
    expect(body.items).toEqual(
      expect.arrayContaining([
        { name: 'order-summaries', table: 'order_summaries', subscriptionId: 'projection:order-summaries' },
        { name: 'placed-orders', table: 'placed_orders', subscriptionId: 'projection:placed-orders' },
      ]),
    );
  });

  it('starts with 202 and a Location, is followed to its end there, and leaves the read model identical (swapped in)', async () => {
    const before = await liveRows();
    const oidBefore = await tableOid('order_summaries');
    const total = await eventCount();

    const started = await app.http().post(REBUILDS).send({ batchSize: 10 }).expect(202);
    const location = String(started.headers.location);
    expect(location).toBe(`${REBUILDS}/${started.body.id}`);
    expect(started.body).toMatchObject({
      projection: 'order-summaries',
      status: 'running',
      batchSize: 10,
      acceptDifferences: false,
      requestedBy: 'test-client',
      result: null,
      error: null,
      finishedAt: null,
    });

    const seen = await followToTheEnd(location);
    const done = seen.at(-1)!;
    expect(done).toMatchObject({
      status: 'completed',
      progress: { eventsDone: total, eventsTotal: total, secondsLeft: 0, percent: 100 },
      result: { eventsReplayed: total, identical: true, swapped: true, differences: { onlyInLive: 0, onlyInRebuilt: 0, sampleKeys: [] } },
      error: null,
      finishedAt: expect.any(String),
    });
    expect(done.result.seconds).toBeGreaterThan(0);
    expect(await liveRows()).toEqual(before);
    expect(await tableOid('order_summaries')).not.toBe(oidBefore);
    expect(await tableOid('order_summaries_rebuild')).toBeNull();
    // The job stays readable once done.
    expect((await app.http().get(location).expect(200)).body).toEqual(done);
  });

  it('runs one at a time per projection, whoever started the other one, and shows its progress while it runs', async () => {
    const checkpoint = await holdLiveCheckpoint();
    let location = '';
    try {
      const started = await app.http().post(REBUILDS).send({ batchSize: 5 }).expect(202);
      location = String(started.headers.location);
      const running = await replayed(location, viaApp);
      expect(running.progress).toMatchObject({ eventsTotal: running.progress.eventsDone, percent: 100, eventsPerSecond: expect.any(Number) });

      const refused = await app.http().post(REBUILDS).send({});
      expectProblem(refused, 409, 'REBUILD_ALREADY_RUNNING');
      expect(refused.body.detail).toContain(location);
      const cli = await runBuiltCli('dist/src/cli/rebuild-projections.js', app.databaseUrl, 'order-summaries');
      expect(cli.code).toBe(1);
      expect(cli.stderr).toContain('a rebuild of order-summaries is already running');
      // Another projection is not held back.
      const other = await app.http().post('/admin/projections/placed-orders/rebuilds').expect(202);
      expect((await followToTheEnd(String(other.headers.location))).at(-1)).toMatchObject({ status: 'completed', result: { swapped: true } });
    } finally {
      await checkpoint.release();
    }
    expect((await followToTheEnd(location)).at(-1)).toMatchObject({ status: 'completed', result: { identical: true, swapped: true } });

    // A rebuild the CLI runs (its lock held here) refuses a job too.
    const cliLock = await acquireRebuildLock(app.db, 'order-summaries');
    try {
      const refused = await app.http().post(REBUILDS).send({});
      expectProblem(refused, 409, 'REBUILD_ALREADY_RUNNING');
      expect(refused.body.detail).toContain('npm run rebuild-projections');
    } finally {
      await cliLock.release();
    }
  });

  it('reports rows that differ and keeps the live table, unless differences are accepted', async () => {
    const correct = await liveRows();
    const [{ id }] = correct;
    await app.db.query(`UPDATE order_summaries SET total = total + 1 WHERE id = $1`, [id]);
    const oidBefore = await tableOid('order_summaries');

    const kept = await app.http().post(REBUILDS).expect(202);
    expect((await followToTheEnd(String(kept.headers.location))).at(-1)).toMatchObject({
      status: 'completed',
      result: { identical: false, swapped: false, differences: { onlyInLive: 1, onlyInRebuilt: 1, sampleKeys: [id] } },
    });
    expect(await tableOid('order_summaries')).toBe(oidBefore);

    const accepted = await app.http().post(REBUILDS).send({ acceptDifferences: true }).expect(202);
    expect((await followToTheEnd(String(accepted.headers.location))).at(-1)).toMatchObject({ status: 'completed', result: { identical: false, swapped: true } });
    expect(await liveRows()).toEqual(correct);
  });

  it('ends interrupted, the live table untouched, when the process running it dies; another process answers for it, and it can be started again', async () => {
    const before = await liveRows();
    const oidBefore = await tableOid('order_summaries');
    const checkpoint = await holdLiveCheckpoint();
    const other = await ApiProcess.start({ DATABASE_URL: app.databaseUrl, BROKER_PREFIX: app.brokerPrefix, RABBITMQ_URL: TEST_RABBITMQ_URL, REACTIONS_ENABLED: 'false', RELAY_ENABLED: 'false' });
    let location = '';
    try {
      const started = await other.post(REBUILDS, { batchSize: 5 });
      expect(started.status).toBe(202);
      location = `${REBUILDS}/${started.body.id}`;
      // Followed through this process, which does not run it.
      await replayed(location, viaApp);
      await other.kill('SIGKILL');
    } finally {
      other.signal('SIGKILL');
      await checkpoint.release();
    }
    const interrupted = await eventually(async () => {
      const job = await viaApp.get(location);
      expect(job.status).toBe('interrupted');
      return job;
    });
    expect(interrupted).toMatchObject({ error: 'the process running it stopped before it finished', result: null, finishedAt: expect.any(String) });
    expect(await liveRows()).toEqual(before);
    expect(await tableOid('order_summaries')).toBe(oidBefore);

    // Started again: the leftover copy is dropped and the rebuild done.
    const again = await app.http().post(REBUILDS).expect(202);
    expect((await followToTheEnd(String(again.headers.location))).at(-1)).toMatchObject({ status: 'completed', result: { identical: true, swapped: true } });
    expect(await tableOid('order_summaries_rebuild')).toBeNull();
  }, 60_000);

  it('ends interrupted when its process shuts down gracefully, before the swap', async () => {
    const oidBefore = await tableOid('order_summaries');
    // Started first: its projectors take their checkpoint rows at start.
    const other = await startTestApp({ databaseUrl: app.databaseUrl, brokerPrefix: app.brokerPrefix, env: { REACTIONS_ENABLED: 'false', RELAY_ENABLED: 'false' } });
    const checkpoint = await holdLiveCheckpoint();
    let closing: Promise<void> | undefined;
    try {
      const started = await other.http().post(REBUILDS).send({ batchSize: 5 }).expect(202);
      const location = String(started.headers.location);
      await replayed(location, viaApp);
      closing = other.close({ keepDatabase: true });
      await checkpoint.release();
      await closing;
      expect(await viaApp.get(location)).toMatchObject({ status: 'interrupted', error: 'Error: the API process shut down', result: null });
    } finally {
      await checkpoint.release().catch(() => undefined);
      await (closing ?? other.close({ keepDatabase: true }));
    }
    expect(await tableOid('order_summaries')).toBe(oidBefore);
    expect(await tableOid('order_summaries_rebuild')).toBeNull();
  }, 60_000);

  it('answers 404 for an unknown projection or job, and 400 for a malformed job id or body', async () => {
    expectProblem(await app.http().post('/admin/projections/orders/rebuilds').send({}), 404, 'PROJECTION_NOT_FOUND');
    expectProblem(await app.http().get(`/admin/projections/orders/rebuilds/${randomUUID()}`), 404, 'PROJECTION_NOT_FOUND');
    expectProblem(await app.http().get(`${REBUILDS}/${randomUUID()}`), 404, 'REBUILD_NOT_FOUND');
    const [{ id: placedOrdersJob }] = await app.db.query(`SELECT id FROM projection_rebuild_jobs WHERE projection = 'placed-orders' LIMIT 1`);
    expectProblem(await app.http().get(`${REBUILDS}/${placedOrdersJob}`), 404, 'REBUILD_NOT_FOUND');
    expectProblem(await app.http().get(`${REBUILDS}/not-a-uuid`), 400, 'BAD_REQUEST');
    const jobsBefore = await app.db.query(`SELECT count(*)::int AS n FROM projection_rebuild_jobs`);
    for (const body of [{ batchSize: 0 }, { batchSize: 10_001 }, { batchSize: 'ten' }, { acceptDifferences: 'yes' }, { force: true }]) {
      expectProblem(await app.http().post(REBUILDS).send(body), 400, 'VALIDATION_FAILED');
    }
    expect(await app.db.query(`SELECT count(*)::int AS n FROM projection_rebuild_jobs`)).toEqual(jobsBefore);
  });
});
