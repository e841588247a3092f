import { CommandBus } from '@nestjs/cqrs';
import type { Test } from 'supertest';
import { EventSubscriptions, withCommandCause } from '../src/event-store';
import { ConfirmOrderCommand } from '../src/modules/orders/commands/confirm-order/confirm-order.command';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { countRows, placeOrder, registerUser, twoLines, uniqueEmail } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Read-your-writes: a GET of the `Location` right after a 201/202 (or of the aggregate right
 * after a 202/204 that changed it) answers 200 with the state the command produced, every time.
 * Reads and writes carry the stream version as a weak ETag; commands take `If-Match` and answer
 * 412 on a stale version, writing nothing.
 */
let app: TestApp;
beforeAll(async () => {
  // No saga: what a GET shows is exactly what the request before it produced.
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
});
afterAll(() => app?.close());

const ROUNDS = 200;
const IN_FLIGHT = 50;
const total = twoLines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);

/** Runs `task` for 0..count-1 with at most `limit` in flight. */
async function inParallel(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const weakETag = (version: number) => `W/"${version}"`;

/** Registers a user, reads the Location at once, changes the email, reads again: returns the id. */
async function registerThenRead(i: number): Promise<string> {
  const email = uniqueEmail(`ryw${i}`);
  const created = await app.http().post('/users').send({ email, name: `Reader ${i}`, creditLimit: 7000 });
  expect(created.status).toBe(201);
  expect(created.headers.etag).toBe(weakETag(1));
  const read = await app.http().get(created.headers.location);
  expect({ i, status: read.status }).toEqual({ i, status: 200 });
  expect(read.headers.etag).toBe(weakETag(1));
  expect(read.body).toMatchObject({ id: created.body.id, email, name: `Reader ${i}`, status: 'ACTIVE', creditLimit: 7000, creditReserved: 0, version: 1 });

  const newEmail = uniqueEmail(`ryw${i}-new`);
  const changed = await app.http().put(`${created.headers.location}/email`).send({ email: newEmail });
  expect(changed.status).toBe(204);
  expect(changed.headers.etag).toBe(weakETag(2));
  const reread = await app.http().get(created.headers.location);
  expect({ i, status: reread.status, email: reread.body.email, version: reread.body.version }).toEqual({ i, status: 200, email: newEmail, version: 2 });
  expect(reread.headers.etag).toBe(weakETag(2));
  return created.body.id;
}

/** Places an order, reads the Location at once, cancels it, reads again: returns the id. */
async function placeThenRead(customerId: string, i: number): Promise<string> {
  const placed = await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines });
  expect(placed.status).toBe(202);
  expect(placed.headers.etag).toBe(weakETag(1));
  const read = await app.http().get(placed.headers.location);
  expect({ i, status: read.status }).toEqual({ i, status: 200 });
  expect(read.headers.etag).toBe(weakETag(1));
  expect(read.body).toMatchObject({ id: placed.body.id, customerId, status: 'PENDING', currency: 'EUR', lines: twoLines, total, version: 1 });

  const cancelled = await app.http().post(`${placed.headers.location}/cancel`).send({ reason: `changed my mind ${i}` });
  expect(cancelled.status).toBe(202);
  expect(cancelled.headers.etag).toBe(weakETag(2));
  const reread = await app.http().get(placed.headers.location);
  expect({ i, status: reread.status, state: reread.body.status, version: reread.body.version }).toEqual({ i, status: 200, state: 'CANCELLED', version: 2 });
  expect(reread.headers.etag).toBe(weakETag(2));
  return placed.body.id;
}

describe('read-your-writes, with the projection stopped', () => {
  // The projection behind the lists does not run during these tests: a GET by id that answers
  // 200 with the new state cannot have waited for it to catch up. (Users have no projection:
  // GET /users/{id} can only read the users row.)
  const projections = [orderSummariesProjection.subscriptionId];
  const users: string[] = [];
  const orders: string[] = [];
  let customerId: string;

  beforeAll(async () => {
    customerId = await registerUser(app, { creditLimit: 10_000_000 });
    for (const name of projections) await app.app.get(EventSubscriptions).get(name).stop();
  });

  it(`answers 200 with the produced state right after POST /users and PUT …/email, ${ROUNDS} times in a row`, async () => {
    for (let i = 0; i < ROUNDS; i++) users.push(await registerThenRead(i));
  });

  it(`does so with ${IN_FLIGHT} requests in flight, ${ROUNDS} times`, async () => {
    await inParallel(ROUNDS, IN_FLIGHT, async (i) => void users.push(await registerThenRead(ROUNDS + i)));
  });

  it(`answers 200 with the produced state right after POST /orders and POST …/cancel, ${ROUNDS} times in a row`, async () => {
    for (let i = 0; i < ROUNDS; i++) orders.push(await placeThenRead(customerId, i));
  });

  it(`does so with ${IN_FLIGHT} requests in flight, ${ROUNDS} times`, async () => {
    await inParallel(ROUNDS, IN_FLIGHT, async (i) => void orders.push(await placeThenRead(customerId, ROUNDS + i)));
  });

  it('served none of it from a projection; the lists catch up once the projection runs again', async () => {
    const [{ summaries }] = await app.db.query(`SELECT count(*)::int AS summaries FROM order_summaries WHERE id = ANY($1::uuid[])`, [orders]);
    expect({ users: users.length, orders: orders.length, summaries }).toEqual({ users: 2 * ROUNDS, orders: 2 * ROUNDS, summaries: 0 });

    for (const name of projections) await app.app.get(EventSubscriptions).get(name).start();
    await eventually(async () => {
      const page = (await app.http().get(`/orders?customerId=${customerId}&status=CANCELLED&limit=100`).expect(200)).body;
      expect(page.items).toHaveLength(100);
      expect(page.nextCursor).not.toBeNull();
    }, 15_000);
  });
});

describe('ETag and If-Match', () => {
  let customerId: string;
  beforeAll(async () => {
    customerId = await registerUser(app, { creditLimit: 10_000_000 });
  });

  const streamVersion = async (table: 'orders' | 'users', id: string): Promise<number> =>
    (await app.db.query(`SELECT version FROM ${table} WHERE id = $1`, [id]))[0].version;

  /** Every command that changes an existing aggregate: how to get one it succeeds on, at which version. */
  interface ChangingCommand {
    name: string;
    table: 'orders' | 'users';
    prepare: () => Promise<string>;
    version: number;
    send: (id: string) => Test;
    success: number;
  }
  const commands: ChangingCommand[] = [
    {
      name: 'POST /orders/{id}/cancel',
      table: 'orders',
      prepare: () => placeOrder(app, customerId),
      version: 1,
      send: (id) => app.http().post(`/orders/${id}/cancel`).send({ reason: 'no' }),
      success: 202,
    },
    {
      name: 'POST /orders/{id}/ship',
      table: 'orders',
      prepare: async () => {
        const id = await placeOrder(app, customerId);
        await withCommandCause({ correlationId: 'ryw', causationId: 'ryw' }, () => app.app.get(CommandBus).execute(new ConfirmOrderCommand(id)));
        return id;
      },
      version: 2,
      send: (id) => app.http().post(`/orders/${id}/ship`),
      success: 202,
    },
    {
      name: 'PUT /users/{id}/email',
      table: 'users',
      prepare: () => registerUser(app),
      version: 1,
      send: (id) => app.http().put(`/users/${id}/email`).send({ email: uniqueEmail('etag') }),
      success: 204,
    },
    {
      name: 'POST /users/{id}/deactivate',
      table: 'users',
      prepare: () => registerUser(app),
      version: 1,
      send: (id) => app.http().post(`/users/${id}/deactivate`),
      success: 204,
    },
  ];

  it('returns the stream version as a weak ETag on creation, on reads and on every change', async () => {
    const created = await app.http().post('/users').send({ email: uniqueEmail('etag'), name: 'Tagged' }).expect(201);
    expect(created.headers.etag).toBe('W/"1"');
    const userId = created.body.id;
    expect((await app.http().get(`/users/${userId}`).expect(200)).headers.etag).toBe('W/"1"');

    const placed = await app.http().post('/orders').send({ customerId: userId, currency: 'EUR', lines: twoLines }).expect(202);
    expect(placed.headers.etag).toBe('W/"1"');
    const orderId = placed.body.id;
    const cancelled = await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'no' }).expect(202);
    expect(cancelled.headers.etag).toBe('W/"2"');
    const read = await app.http().get(`/orders/${orderId}`).expect(200);
    expect(read.headers.etag).toBe('W/"2"');
    expect(read.body.version).toBe(2);
    expect(await streamVersion('orders', orderId)).toBe(2);

    const deactivated = await app.http().post(`/users/${userId}/deactivate`).expect(204);
    expect(deactivated.headers.etag).toBe('W/"2"');
    expect((await app.http().get(`/users/${userId}`).expect(200)).headers.etag).toBe('W/"2"');
  });

  it.each(commands.map((command) => [command.name, command] as const))(
    '%s with a stale If-Match is refused with 412 problem+json and writes nothing',
    async (_, { table, prepare, version, send }) => {
      const id = await prepare();
      const events = await countRows(app, 'events');
      for (const stale of [`W/"${version + 1}"`, `"${version + 6}"`, `W/"${version - 1}"`, 'W/"0"']) {
        const response = await send(id).set('If-Match', stale);
        expect({ stale, status: response.status }).toEqual({ stale, status: 412 });
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.body).toMatchObject({ status: 412, code: 'VERSION_MISMATCH', title: 'Precondition Failed' });
      }
      expect(await countRows(app, 'events')).toBe(events);
      expect(await streamVersion(table, id)).toBe(version);
    },
  );

  it.each(commands.flatMap((command) => ['W/"current"', '"current"', '*', ' W/"current" '].map((ifMatch) => [command.name, ifMatch, command] as const)))(
    '%s with If-Match %s succeeds and returns the next version as ETag',
    async (_, ifMatch, { table, prepare, version, send, success }) => {
      const id = await prepare();
      const response = await send(id).set('If-Match', ifMatch.replace('current', String(version)));
      expect(response.status).toBe(success);
      expect(response.headers.etag).toBe(`W/"${version + 1}"`);
      expect(await streamVersion(table, id)).toBe(version + 1);
    },
  );

  it.each(
    commands.flatMap((command) =>
      ['1', 'W/1', '"abc"', 'W/"-1"', '""', 'W/"1", W/"2"', '"1.0"', 'w/"1"', '"01"', '"99999999999999999999"'].map(
        (ifMatch) => [command.name, ifMatch, command] as const,
      ),
    ),
  )('%s with a malformed If-Match %s is refused with 400 problem+json and writes nothing', async (_, ifMatch, { table, prepare, version, send }) => {
    const id = await prepare();
    const events = await countRows(app, 'events');
    const response = await send(id).set('If-Match', ifMatch);
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body.code).toBe('INVALID_IF_MATCH');
    expect(await countRows(app, 'events')).toBe(events);
    expect(await streamVersion(table, id)).toBe(version);
  });

  it('lets exactly one of many concurrent changes sent with the same If-Match through; the rest get 412', async () => {
    // Several load version 1 at once; all but one lose the race at the UPDATE … WHERE version = 1
    // and must end in 412, not be retried on the newer version.
    const userId = await registerUser(app);
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => app.http().put(`/users/${userId}/email`).set('If-Match', 'W/"1"').send({ email: uniqueEmail(`race${i}`) })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([204, ...Array(11).fill(412)]);
    const versions = await app.db.query(`SELECT stream_version FROM events WHERE stream_id = $1 ORDER BY stream_version`, [userId]);
    expect(versions.map((row: { stream_version: number }) => row.stream_version)).toEqual([1, 2]);

    const orderId = await placeOrder(app, customerId);
    const cancels = await Promise.all(
      Array.from({ length: 12 }, () => app.http().post(`/orders/${orderId}/cancel`).set('If-Match', '"1"').send({ reason: 'race' })),
    );
    expect(cancels.map((response) => response.status).sort()).toEqual([202, ...Array(11).fill(412)]);
    expect(await streamVersion('orders', orderId)).toBe(2);
  });

  it('answers 404, not 412, for an If-Match on an aggregate that does not exist', async () => {
    const unknown = '5a0c7a2e-3333-4333-8333-333333333333';
    await app.http().post(`/orders/${unknown}/cancel`).set('If-Match', 'W/"1"').send({ reason: 'x' }).expect(404);
    await app.http().post(`/users/${unknown}/deactivate`).set('If-Match', 'W/"1"').expect(404);
  });

  it('replays the ETag and Location of the first response with an Idempotency-Key', async () => {
    const key = `ryw-${Date.now()}`;
    const body = { email: uniqueEmail('idem'), name: 'Once' };
    const first = await app.http().post('/users').set('Idempotency-Key', key).send(body).expect(201);
    const replay = await app.http().post('/users').set('Idempotency-Key', key).send(body).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect({ etag: replay.headers.etag, location: replay.headers.location }).toEqual({ etag: 'W/"1"', location: first.headers.location });

    const orderId = await placeOrder(app, customerId);
    const cancelled = await app.http().post(`/orders/${orderId}/cancel`).set('Idempotency-Key', key).set('If-Match', 'W/"1"').send({ reason: 'once' }).expect(202);
    expect(cancelled.headers.etag).toBe('W/"2"');
    const events = await countRows(app, 'events');
    // The same request again: it replays what the first one answered, the version it produced.
    const again = await app.http().post(`/orders/${orderId}/cancel`).set('Idempotency-Key', key).set('If-Match', 'W/"1"').send({ reason: 'once' }).expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.headers.etag).toBe('W/"2"');
    expect(await countRows(app, 'events')).toBe(events);
  });
});
