import { CommandBus } from '@nestjs/cqrs';
import * as checkpointRange from '../src/event-store/rebuild/checkpoint-range';
import { countEventsAfter, EventSubscriptions, EventUpcasters, type ProjectionDefinition, ProjectionRebuilder, RebuildAlreadyRunningError, type RebuildProgress, withCommandCause } from '../src/event-store';
import { ConfirmOrderCommand } from '../src/modules/orders/commands/confirm-order/confirm-order.command';
import { RejectOrderCommand } from '../src/modules/orders/commands/reject-order/reject-order.command';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { CliResult, runBuiltCli } from './support/built-cli';
import { placeOrder, registerUser, uniqueEmail } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

const CLI = 'dist/src/cli/rebuild-projections.js';
const metadata = { correlationId: 'rebuild-test', causationId: 'rebuild-test' };
const identical = { onlyInLive: 0, onlyInRebuilt: 0, sampleKeys: [] };

let app: TestApp;
let rebuilder: ProjectionRebuilder;
const users: string[] = [];
const orders: string[] = [];

/** Runs `task` over `items` with at most `limit` in flight. */
async function inParallel<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

/** Users who register, change their email or leave; orders that end in every status. */
async function burst(): Promise<void> {
  await inParallel(Array.from({ length: 20 }), 8, async () => users.push(await registerUser(app)));
  await inParallel(Array.from({ length: 300 }, (_, i) => users[i % users.length]), 16, async (customerId) =>
    orders.push(await placeOrder(app, customerId, [{ sku: `SKU-${orders.length}`, quantity: 1 + (orders.length % 5), unitPrice: 999 }])),
  );
  const commands = app.app.get(CommandBus);
  await inParallel(orders.map((orderId, i) => ({ orderId, fate: i % 6 })), 16, async ({ orderId, fate }) => {
    if (fate === 0) return; // stays PENDING
    if (fate === 1) return app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);
    if (fate === 2) return withCommandCause(metadata, () => commands.execute(new RejectOrderCommand(orderId, 'insufficient credit')));
    await withCommandCause(metadata, () => commands.execute(new ConfirmOrderCommand(orderId)));
    if (fate === 4) await app.http().post(`/orders/${orderId}/ship`).expect(202);
    if (fate === 5) await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'too late' }).expect(202);
  });
  await inParallel(users.slice(0, 10).map((userId, i) => ({ userId, leaves: i % 2 === 0 })), 8, async ({ userId, leaves }) => {
    await app.http().put(`/users/${userId}/email`).send({ email: uniqueEmail('changed') }).expect(204);
    if (leaves) await app.http().post(`/users/${userId}/deactivate`).expect(204);
  });
}

async function projectionsCaughtUp(): Promise<void> {
  await eventually(async () => {
    expect(await countEventsAfter(app.db, orderSummariesProjection.subscriptionId)).toBe(0);
  });
}

/**
 * Whether the projection serves the order: listed by GET /orders?customerId= (GET /orders/{id}
 * reads the order's own row, not the projection).
 */
async function listed(orderId: string): Promise<{ status: number; order?: { id: string; total: number } }> {
  const [{ customerId }] = await app.db.query(`SELECT customer_id AS "customerId" FROM orders WHERE id = $1`, [orderId]);
  const response = await app.http().get(`/orders?customerId=${customerId}&limit=100`);
  return { status: response.status, order: response.body.items?.find((item: { id: string }) => item.id === orderId) };
}

function rows(table: string): Promise<Array<Record<string, unknown>>> {
  return app.db.query(`SELECT * FROM ${table} ORDER BY id`);
}

async function tableOid(table: string): Promise<number | null> {
  const [{ oid }] = await app.db.query(`SELECT to_regclass($1)::oid::bigint::int AS oid`, [table]);
  return oid;
}

async function indexNames(table: string): Promise<string[]> {
  const found: Array<{ name: string }> = await app.db.query(
    `SELECT indexname AS name FROM pg_indexes WHERE tablename = $1 ORDER BY indexname`,
    [table],
  );
  return found.map(({ name }) => name);
}

async function eventCount(): Promise<number> {
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events`);
  return n;
}

function rebuild(projection: ProjectionDefinition, options: { batchSize?: number; acceptDifferences?: boolean; onProgress?: (p: RebuildProgress) => void } = {}) {
  return rebuilder.rebuild(projection, { batchSize: 100, acceptDifferences: false, ...options });
}

beforeAll(async () => {
  // The saga is off: these tests count the events their own requests wrote.
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
  rebuilder = new ProjectionRebuilder(app.db, app.app.get(EventUpcasters));
  await burst();
  await projectionsCaughtUp();
});
afterAll(() => app.close());

describe('rebuilding a projection', () => {
  it('after a burst yields rows identical to the live ones, swapped in under the live name', async () => {
    const statuses = new Set((await rows('order_summaries')).map((row) => row.status));
    expect(statuses).toEqual(new Set(['PENDING', 'CONFIRMED', 'SHIPPED', 'CANCELLED', 'REJECTED']));

    // Twice: the second rebuild works from what the first swapped in.
    for (const projection of [orderSummariesProjection, orderSummariesProjection]) {
      const before = await rows(projection.table);
      const oidBefore = await tableOid(projection.table);
      const indexesBefore = await indexNames(projection.table);

      const result = await rebuild(projection);

      expect(result).toMatchObject({ projection: projection.name, swapped: true, differences: identical });
      expect(result.eventsReplayed).toBe(await eventCount());
      expect(await rows(projection.table)).toEqual(before);
      expect(await tableOid(projection.table)).not.toBe(oidBefore);
      expect(await indexNames(projection.table)).toEqual(indexesBefore); // so the next rebuild finds the same names
      expect(await tableOid(`${projection.table}_rebuild`)).toBeNull();
    }
  });

  it('keeps queries answering while it runs', async () => {
    let rebuilding = true;
    let answered = 0;
    const reader = (async () => {
      while (rebuilding) {
        const orderId = orders[answered % orders.length];
        const { status, order } = await listed(orderId);
        expect({ status, id: order?.id }).toEqual({ status: 200, id: orderId });
        answered += 1;
      }
    })();

    const result = await rebuild(orderSummariesProjection, { batchSize: 5 }).finally(() => (rebuilding = false));
    await reader;

    expect(result).toMatchObject({ swapped: true, differences: identical });
    expect(answered).toBeGreaterThan(10);
  });

  it('applies events written during the rebuild exactly once', async () => {
    const customerId = users[1];
    let writing = true;
    const placedDuring: string[] = [];
    const writer = (async () => {
      while (writing) placedDuring.push(await placeOrder(app, customerId));
    })();

    const result = await rebuild(orderSummariesProjection, { batchSize: 20 }).finally(() => (writing = false));
    await writer;

    expect(result).toMatchObject({ swapped: true, differences: identical });
    expect(placedDuring.length).toBeGreaterThan(0);
    await projectionsCaughtUp();
    for (const orderId of placedDuring) expect((await listed(orderId)).order?.id).toBe(orderId);
    const [{ placed }] = await app.db.query(`SELECT count(*)::int AS placed FROM events WHERE event_type = 'OrderPlaced'`);
    expect((await rows('order_summaries')).length).toBe(placed);
  });

  it('catches the rebuilt table up to a live projector that got ahead of it, inside the swap', async () => {
    const late: string[] = [];
    const lockCheckpoint = checkpointRange.lockCheckpoint;
    const spy = jest.spyOn(checkpointRange, 'lockCheckpoint').mockImplementationOnce(async (transaction, subscriptionId) => {
      // Once the replay is done, before the swap: new events, applied by the live projector only.
      late.push(await placeOrder(app, users[2]), await placeOrder(app, users[3]));
      await eventually(async () => expect((await listed(late[1])).order?.id).toBe(late[1]));
      return lockCheckpoint(transaction, subscriptionId);
    });
    try {
      const result = await rebuild(orderSummariesProjection);
      expect(result).toMatchObject({ swapped: true, differences: identical });
      expect(result.eventsReplayed).toBe(await eventCount());
    } finally {
      spy.mockRestore();
    }
    expect(late).toHaveLength(2);
    for (const orderId of late) expect((await listed(orderId)).order?.id).toBe(orderId);
  });

  it('catches a live projector that lags behind up first, and that projector resumes on the swapped-in table', async () => {
    const subscription = app.app.get(EventSubscriptions).get(orderSummariesProjection.subscriptionId);
    await subscription.stop();
    const whileStopped = [await placeOrder(app, users[4]), await placeOrder(app, users[5])];
    try {
      expect((await listed(whileStopped[0])).order).toBeUndefined();
      const result = await rebuild(orderSummariesProjection);
      expect(result).toMatchObject({ swapped: true, differences: identical });
      expect(await countEventsAfter(app.db, orderSummariesProjection.subscriptionId)).toBe(0);
      for (const orderId of whileStopped) expect((await listed(orderId)).order?.id).toBe(orderId);
    } finally {
      await subscription.start();
    }
    const afterwards = await placeOrder(app, users[4]);
    await eventually(async () => expect((await listed(afterwards)).order?.id).toBe(afterwards));
  });

  it('reports a corrupted live row and swaps nothing, unless differences are accepted', async () => {
    const [orderId] = orders;
    const correct = await rows('order_summaries');
    await app.db.query(`UPDATE order_summaries SET total = total + 1 WHERE id = $1`, [orderId]);
    const oidBefore = await tableOid('order_summaries');

    const refused = await rebuild(orderSummariesProjection);
    expect(refused).toMatchObject({ swapped: false, differences: { onlyInLive: 1, onlyInRebuilt: 1, sampleKeys: [orderId] } });
    expect(await tableOid('order_summaries')).toBe(oidBefore);
    expect(await tableOid('order_summaries_rebuild')).toBeNull();
    const served = (await listed(orderId)).order?.total;
    expect(served).toBe(Number(correct.find((row) => row.id === orderId)?.total) + 1);

    const accepted = await rebuild(orderSummariesProjection, { acceptDifferences: true });
    expect(accepted).toMatchObject({ swapped: true, differences: { onlyInLive: 1, onlyInRebuilt: 1, sampleKeys: [orderId] } });
    expect(await rows('order_summaries')).toEqual(correct);
  });

  it('reports a row missing from the live table as only in the rebuilt one', async () => {
    const orderId = orders[1];
    await app.db.query(`DELETE FROM order_summaries WHERE id = $1`, [orderId]);
    const result = await rebuild(orderSummariesProjection);
    expect(result).toMatchObject({ swapped: false, differences: { onlyInLive: 0, onlyInRebuilt: 1, sampleKeys: [orderId] } });
    await rebuild(orderSummariesProjection, { acceptDifferences: true });
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM order_summaries WHERE id = $1`, [orderId]);
    expect(n).toBe(1);
  });

  it('reports progress: events done against the total, rate and time left', async () => {
    const reports: RebuildProgress[] = [];
    const total = await eventCount();

    await rebuild(orderSummariesProjection, { batchSize: 50, onProgress: (progress) => reports.push(progress) });

    expect(reports.length).toBeGreaterThanOrEqual(Math.ceil(total / 50));
    reports.forEach((report, i) => {
      expect(report).toMatchObject({ projection: 'order-summaries', eventsTotal: total });
      expect(report.eventsDone).toBeGreaterThan(i === 0 ? 0 : reports[i - 1].eventsDone);
      expect(report.eventsPerSecond).toBeGreaterThan(0);
      expect(report.secondsLeft).toBeGreaterThanOrEqual(0);
    });
    expect(reports.at(-1)).toMatchObject({ eventsDone: total, secondsLeft: 0 });
  });

  it('refuses a second rebuild of the same projection while one runs', async () => {
    const first = rebuild(orderSummariesProjection, { batchSize: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(rebuild(orderSummariesProjection)).rejects.toBeInstanceOf(RebuildAlreadyRunningError);
    expect(await first).toMatchObject({ swapped: true });
  });
});

describe('npm run rebuild-projections', () => {
  /** The built CLI exactly as the npm script runs it, against the test app's database. */
  function cli(...args: string[]): Promise<CliResult> {
    return runBuiltCli(CLI, app.databaseUrl, ...args);
  }

  it('--all rebuilds every projection, printing progress and a summary, and exits 0', async () => {
    const ordersBefore = await rows('order_summaries');
    const { code, stdout, stderr } = await cli('--all', '--batch-size', '200');
    expect({ code, stderr }).toMatchObject({ code: 0 });
    expect(stderr).toMatch(/^order-summaries: [\d,]+ \/ [\d,]+ events \(100\.0%\), [\d,]+ ev\/s, ~0 s left$/m);
    expect(stdout).toMatch(/^order-summaries: replayed [\d,]+ events in [\d.]+ s; rows identical to the live table; swapped in$/m);
    // One summary per projection of the app, and no other.
    expect(stdout.match(/^[\w-]+: replayed /gm)).toEqual(['order-summaries: replayed ']);
    expect(await rows('order_summaries')).toEqual(ordersBefore);
  });

  it('exits 1 when rows differ, naming them, and keeps the live table', async () => {
    const [orderId] = orders;
    await app.db.query(`UPDATE order_summaries SET status = 'SHIPPED' WHERE id = $1`, [orderId]);
    const { code, stdout } = await cli('order-summaries');
    expect(code).toBe(1);
    expect(stdout).toContain(`1 only in the live one, 1 only in the rebuilt one (e.g. ${orderId}); kept the live table`);
    expect((await cli('order-summaries', '--accept-differences')).code).toBe(0);
  });

  it('lists the projections with --list', async () => {
    const { code, stdout } = await cli('--list');
    expect(code).toBe(0);
    expect(stdout).toBe('order-summaries\ttable order_summaries\tsubscription projection:order-summaries\n');
  });

  it('exits 2 on an unknown projection, listing the valid ones', async () => {
    const { code, stderr } = await cli('orders');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown projection orders; valid ones: order-summaries');
  });
});
