/**
 * @exclusive drives the API into shedding load and measures when it recovers: needs the cores
 */
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Client } from 'pg';
import { AdmissionControl } from '../src/admission/admission-control';
import { AsynchronousLag, LAG_SAMPLE_SQL } from '../src/admission/asynchronous-lag';
import { ORDER_FULFILMENT_REACTION_ID } from '../src/modules/orders/sagas/order-fulfilment.saga';
import { readSubscriptionStatuses, SUBSCRIPTION_STATUS_SQL } from '../src/event-store';
import { countRows, registerUser, twoLines, uniqueEmail } from './support/fixtures';
import { ApiProcess } from './support/api-process';
import { TEST_RABBITMQ_URL, uniqueBrokerPrefix } from './support/test-broker';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { dropDatabase } from '../src/database/ensure-database';
import { createTestDatabase } from './support/test-database';
import { testToken } from './support/test-auth';

// Issue 10: "when it cannot keep up it sheds load at the door (429/503 with Retry-After) instead
// of accepting work it will fail". The lag here is real: the order saga's lease is held by
// another session (as by another API process that has stopped making progress), so no process
// takes its events and its checkpoint stays behind while the store moves on.

const SAGA = `reaction:${ORDER_FULFILMENT_REACTION_ID}`;
const MAX_LAG_MS = 1500;
const shedding = { ADMISSION_CONTROL: 'on', ADMISSION_MAX_LAG_MS: String(MAX_LAG_MS), ADMISSION_SAMPLE_MS: '50', ORDER_CONFIRMATION_TIMEOUT_MS: '600000' };

/**
 * Holds an advisory lock on a connection of its own until `release()`: a subscription segment's
 * lease (SubscriptionLeases: `(hashtext('<id>/<segments>'), segment)`) or, with one key, the relay's.
 */
async function holdLease(databaseUrl: string, key: string, segment?: number): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  const [lock, unlock, values] =
    segment === undefined
      ? ['SELECT pg_advisory_lock(hashtext($1))', 'SELECT pg_advisory_unlock(hashtext($1))', [key]]
      : ['SELECT pg_advisory_lock(hashtext($1), $2)', 'SELECT pg_advisory_unlock(hashtext($1), $2)', [key, segment]];
  await client.query(lock, values);
  return {
    async release() {
      await client.query(unlock, values);
      await client.end();
    },
  };
}

async function sagaLagMs(app: TestApp): Promise<number> {
  const status = (await readSubscriptionStatuses(app.db)).find(({ subscriptionId }) => subscriptionId === SAGA);
  return (status?.lagSeconds ?? 0) * 1000;
}

/** Starts an app whose order saga runs nowhere until the returned lease is released. */
async function startWithSagaStalled(env: Record<string, string>) {
  const databaseUrl = await createTestDatabase();
  // The saga in one segment (SUBSCRIPTION_SEGMENTS=1): its only segment, 0.
  const lease = await holdLease(databaseUrl, `${SAGA}/1`, 0);
  const app = await startTestApp({ databaseUrl, env });
  return { app, lease };
}

/** A raw TCP connection to the app (listening from here on), so a test can leave in the middle of a request. */
async function rawConnection(app: TestApp): Promise<Socket> {
  if (!(app.app.getHttpServer() as Server).listening) await app.app.listen(0, '127.0.0.1');
  const { port } = (app.app.getHttpServer() as Server).address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

describe('admission control (load shedding)', () => {
  it('answers commands 503 with Retry-After and problem+json while the saga lags, writes nothing, keeps reads open, and admits them again once the lag clears', async () => {
    const { app, lease } = await startWithSagaStalled(shedding);
    let released = false;
    try {
      const customerId = await registerUser(app);
      const pending = await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
      await eventually(async () => expect(await sagaLagMs(app)).toBeGreaterThan(MAX_LAG_MS), 10_000);

      // Sampling began with the commands above and goes on for a few seconds: it sees the lag.
      await eventually(async () => expect(app.app.get(AdmissionControl).current.action).toBe('shed'), 5_000);

      const order = { customerId, currency: 'EUR', lines: twoLines };
      const key = `shed-${Date.now()}`;
      const shed = await app.http().post('/orders').set('Idempotency-Key', key).set('X-Correlation-Id', 'shed-1').send(order);
      expect(shed.status).toBe(503);
      expect(shed.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(shed.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      // The saga does not move at all: no rate to estimate from, so the bound itself, in seconds.
      expect(shed.headers['retry-after']).toBe(String(Math.ceil(MAX_LAG_MS / 1000)));
      expect(shed.headers['x-correlation-id']).toBe('shed-1');
      expect(shed.body).toEqual({
        type: '/problems/load-shed',
        title: 'Service Unavailable',
        status: 503,
        detail: expect.stringMatching(/nothing was done, retry after \d+ s/),
        instance: '/orders',
        code: 'LOAD_SHED',
        correlationId: 'shed-1',
      });

      // Every kind of command is shed, and none of them wrote anything.
      const events = await countRows(app, 'events');
      const [orders, users] = [await countRows(app, 'orders'), await countRows(app, 'users')];
      await app.http().post('/users').send({ email: uniqueEmail(), name: 'Late' }).expect(503);
      await app.http().put(`/users/${customerId}/email`).send({ email: uniqueEmail() }).expect(503);
      await app.http().post(`/orders/${pending.body.id}/cancel`).send({ reason: 'later' }).expect(503);
      await app.http().post('/orders').set('Idempotency-Key', key).send(order).expect(503);
      // Shedding comes before the token is checked (the cheapest refusal first): without one, still 503.
      await app.http({ token: null }).post('/orders').send(order).expect(503);
      expect(await countRows(app, 'events')).toBe(events);
      expect(await countRows(app, 'orders')).toBe(orders);
      expect(await countRows(app, 'users')).toBe(users);
      expect(await countRows(app, 'idempotency_keys')).toBe(0);

      // Reads, health and the docs still answer.
      await app.http().get(`/users/${customerId}`).expect(200);
      await app.http().get(`/orders/${pending.body.id}`).expect(200);
      await app.http().get(`/orders?customerId=${customerId}`).expect(200);
      await app.http().get(`/streams/${customerId}/events`).expect(200);
      await app.http().get('/health').expect(200);
      await app.http().get('/docs-json').expect(200);
      // An unknown route is still a 404, not a shed.
      await app.http().post('/no-such-route').send({}).expect(404);

      await lease.release();
      released = true;
      // The saga takes its backlog; once it is within half the bound, the same key runs the command afresh.
      const accepted = await eventually(async () => {
        const response = await app.http().post('/orders').set('Idempotency-Key', key).send(order);
        expect(response.status).toBe(202);
        return response;
      }, 15_000);
      expect(accepted.headers['idempotent-replayed']).toBeUndefined();
      expect(await countRows(app, 'orders')).toBe(orders + 1);
      await eventually(async () => {
        const { body } = await app.http().get(`/orders/${pending.body.id}`).expect(200);
        expect(body.status).toBe('CONFIRMED');
      });
      // And the key now replays what it did.
      const replay = await app.http().post('/orders').set('Idempotency-Key', key).send(order).expect(202);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body.id).toBe(accepted.body.id);
    } finally {
      if (!released) await lease.release();
      await app.close();
    }
  }, 60_000);

  it('makes commands wait at the door while the saga lags short of the bound, the longer the further behind, and then runs them', async () => {
    // Waits from nothing at 200 ms of lag to 1 s at 4.2 s; the saga's lag grows by a second a second.
    const { app, lease } = await startWithSagaStalled({ ...shedding, ADMISSION_DELAY_FROM_LAG_MS: '200', ADMISSION_MAX_LAG_MS: '4200' });
    try {
      const customerId = await registerUser(app);
      const order = { customerId, currency: 'EUR', lines: twoLines };
      await app.http().post('/orders').send(order).expect(202);
      const control = app.app.get(AdmissionControl);
      const waitMs = await eventually(async () => {
        const decision = control.current;
        expect(decision.action === 'delay' && decision.delayMs).toBeGreaterThanOrEqual(300);
        return decision.action === 'delay' ? decision.delayMs : 0;
      }, 10_000);
      const orders = await countRows(app, 'orders');
      const started = performance.now();
      await app.http().post('/orders').send(order).expect(202);
      // The lag only grows while the saga is stalled, so the wait is at least the one seen above.
      expect(performance.now() - started).toBeGreaterThanOrEqual(waitMs - 5);
      expect(await countRows(app, 'orders')).toBe(orders + 1);
    } finally {
      await lease.release();
      await app.close();
    }
  }, 60_000);

  it('decides again once a command has waited: refused with 503 and Retry-After if the lag passed the bound meanwhile, nothing written, counted once, as shed', async () => {
    // Waits from nothing at 200 ms of lag to 1 s at 2.2 s; the saga's lag grows by a second a second.
    const { app, lease } = await startWithSagaStalled({ ...shedding, ADMISSION_DELAY_FROM_LAG_MS: '200', ADMISSION_MAX_LAG_MS: '2200' });
    try {
      const customerId = await registerUser(app);
      const order = { customerId, currency: 'EUR', lines: twoLines };
      await app.http().post('/orders').send(order).expect(202);
      const control = app.app.get(AdmissionControl);
      // A wait of 800 ms or more: the lag is 1.8 s or more as it begins, 2.6 s or more as it ends.
      const waitMs = await eventually(async () => {
        const decision = control.current;
        expect(decision.action === 'delay' && decision.delayMs).toBeGreaterThanOrEqual(800);
        return decision.action === 'delay' ? decision.delayMs : 0;
      }, 10_000);
      const [events, orders] = [await countRows(app, 'events'), await countRows(app, 'orders')];
      const started = performance.now();
      const refused = await app.http().post('/orders').set('Idempotency-Key', `late-${Date.now()}`).send(order);
      expect(performance.now() - started).toBeGreaterThanOrEqual(waitMs - 5);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(refused.body).toMatchObject({ code: 'LOAD_SHED' });
      expect(await countRows(app, 'events')).toBe(events);
      expect(await countRows(app, 'orders')).toBe(orders);
      expect(await countRows(app, 'idempotency_keys')).toBe(0);
      // Counted once, by what became of it: shed, not delayed.
      const { text } = await app.http().get('/metrics').expect(200);
      expect(text.split('\n').filter((line) => line.startsWith('eda_admission_commands_total{'))).toEqual(['eda_admission_commands_total{decision="shed"} 1']);
    } finally {
      await lease.release();
      await app.close();
    }
  }, 60_000);

  it('does not run a command whose client went away while it waited at the door', async () => {
    const { app, lease } = await startWithSagaStalled({ ...shedding, ADMISSION_DELAY_FROM_LAG_MS: '200', ADMISSION_MAX_LAG_MS: '4200' });
    try {
      const customerId = await registerUser(app);
      await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
      const control = app.app.get(AdmissionControl);
      await eventually(async () => expect(control.current.action === 'delay' && control.current.delayMs).toBeGreaterThanOrEqual(500), 10_000);
      const [events, orders] = [await countRows(app, 'events'), await countRows(app, 'orders')];
      const authorization = `Authorization: Bearer ${await testToken()}`;
      const body = JSON.stringify({ customerId, currency: 'EUR', lines: twoLines });
      const requests = [
        // A command with a body, and one without (nothing left to read once it has waited).
        `POST /orders HTTP/1.1\r\nHost: api\r\n${authorization}\r\nIdempotency-Key: gone-${Date.now()}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        // Pipelined, a dozen times: each waits at once, its answer queued behind the one before.
        `POST /users/${customerId}/deactivate HTTP/1.1\r\nHost: api\r\n${authorization}\r\n\r\n`.repeat(12),
      ];
      const connections: Socket[] = [];
      (app.app.getHttpServer() as Server).on('connection', (connection: Socket) => connections.push(connection));
      const sockets = [await rawConnection(app), await rawConnection(app)];
      requests.forEach((request, i) => sockets[i].write(request));
      // The whole requests are in; their clients give up while the commands wait.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closeListeners = connections.map((connection) => connection.listenerCount('close'));
      for (const socket of sockets) socket.destroy();
      // Nothing held per waiting request on the connection: a dozen pipelined ones, the same as one.
      expect(closeListeners).toEqual([closeListeners[0], closeListeners[0]]);
      // Past the longest wait, and then some: nothing was written for them.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await countRows(app, 'events')).toBe(events);
      expect(await countRows(app, 'orders')).toBe(orders);
      expect(await countRows(app, 'idempotency_keys')).toBe(0);
    } finally {
      await lease.release();
      await app.close();
    }
  }, 60_000);

  it('in a real process: a stop (SIGTERM) finishes the commands waiting at the door and exits 0; one whose client left is not run, and logged unanswered', async () => {
    const databaseUrl = await createTestDatabase();
    const lease = await holdLease(databaseUrl, `${SAGA}/1`, 0);
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    let api: ApiProcess | undefined;
    try {
      api = await ApiProcess.start({
        ...shedding,
        ADMISSION_DELAY_FROM_LAG_MS: '200',
        // Far above the lag the waits end at (3-4 s): a command that waited is decided again then, and must run.
        ADMISSION_MAX_LAG_MS: '6200',
        DATABASE_URL: databaseUrl,
        RABBITMQ_URL: TEST_RABBITMQ_URL,
        BROKER_PREFIX: uniqueBrokerPrefix(),
        LOG_LEVEL: 'log',
        LOG_FORMAT: 'json',
      });
      const user = await api.post('/users', { email: uniqueEmail(), name: 'Waits' });
      expect(user.status).toBe(201);
      const order = { customerId: user.body.id, currency: 'EUR', lines: twoLines };
      expect((await api.post('/orders', order)).status).toBe(202);
      // 2.6 s of lag: a wait of about 400 ms.
      const lagMs = async (): Promise<number> => {
        const { rows } = await db.query<{ subscriptionId: string; lagSeconds: number }>(SUBSCRIPTION_STATUS_SQL);
        return (rows.find(({ subscriptionId }) => subscriptionId === SAGA)?.lagSeconds ?? 0) * 1000;
      };
      await eventually(async () => expect(await lagMs()).toBeGreaterThan(2_600), 10_000);
      expect((await api.post('/orders', order)).status).toBe(202);
      {
        const socket = connect(api.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(`POST /users/${user.body.id}/deactivate HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${await testToken()}\r\n\r\n`);
        await new Promise((resolve) => setTimeout(resolve, 100));
        socket.destroy();
      }
      const waiting = api.post('/orders', order);
      await new Promise((resolve) => setTimeout(resolve, 100));
      api.signal('SIGTERM');
      expect((await waiting).status).toBe(202);
      expect(await api.exited).toMatchObject({ code: 0 });
      expect(api.stdout).toMatch(/HTTP server closed; 1 request\(s\) in flight finished/);
      const [{ orders, deactivations }] = (
        await db.query(`SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM events WHERE event_type = 'UserDeactivated') AS deactivations`)
      ).rows;
      expect({ orders, deactivations }).toEqual({ orders: 3, deactivations: 0 });
      // A request line says how much of its time a command spent waiting at the door.
      const waited = api.stdout
        .split('\n')
        .filter((line) => line.includes('"msg":"POST /orders 202'))
        .map((line) => JSON.parse(line) as { msg: string; durationMs: number; waitedMs?: number });
      expect(waited[0]).not.toHaveProperty('waitedMs');
      expect(waited.slice(1)).toEqual([
        expect.objectContaining({ waitedMs: expect.any(Number), msg: expect.stringMatching(/^POST \/orders 202 in \d+ ms \(\d+ ms of it waiting at the door\)$/) }),
        expect.objectContaining({ waitedMs: expect.any(Number) }),
      ]);
      expect(waited[1].waitedMs).toBeGreaterThanOrEqual(300);
      expect(waited[1].durationMs).toBeGreaterThanOrEqual(waited[1].waitedMs!);
      // The command whose client left is logged as such, not as a 200 (nothing was answered).
      expect(api.stdout).toMatch(/"msg":"POST \/users\/:id\/deactivate unanswered in \d+ ms \(aborted\)"/);
    } finally {
      api?.signal('SIGKILL');
      await api?.exited;
      await db.end();
      await lease.release();
      await dropDatabase(databaseUrl);
    }
  }, 30_000);

  it('accepts every command however far the saga lags when ADMISSION_CONTROL=off', async () => {
    const { app, lease } = await startWithSagaStalled({ ...shedding, ADMISSION_CONTROL: 'off' });
    try {
      const customerId = await registerUser(app);
      await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
      await eventually(async () => expect(await sagaLagMs(app)).toBeGreaterThan(MAX_LAG_MS * 2), 10_000);
      // Past the bound for many samples' worth: nothing is shed.
      for (let i = 0; i < 5; i += 1) {
        await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await app.http().post('/users').send({ email: uniqueEmail(), name: 'Accepted' }).expect(201);
      expect(await countRows(app, 'orders')).toBe(6);
    } finally {
      await lease.release();
      await app.close();
    }
  }, 60_000);

  it('does not count reactions that no process runs (REACTIONS_ENABLED=false everywhere): their checkpoints stand still whatever the load', async () => {
    const app = await startTestApp({ env: { ...shedding, REACTIONS_ENABLED: 'false' } });
    try {
      const customerId = await registerUser(app);
      await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
      await eventually(async () => expect(await sagaLagMs(app)).toBeGreaterThan(MAX_LAG_MS * 2), 10_000);
      for (let i = 0; i < 5; i += 1) {
        await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const sample = await app.app.get(AsynchronousLag).sample();
      expect(sample.ok && sample.readers.find(({ subscriptionId }) => subscriptionId === SAGA)).toMatchObject({ leaseHeld: false });
      expect(sample.ok && sample.readers.find(({ subscriptionId }) => subscriptionId === 'projection:order-summaries')).toMatchObject({ leaseHeld: true });
    } finally {
      await app.close();
    }
  }, 60_000);

  it("tells a lease held by any session from one held by none, whatever the sign of the key's hash", async () => {
    // Keys whose hashtext is negative: 'reaction:order-fulfilment/1', 'relay-1'; positive: 'c/2', 'relay-key-a'.
    const app = await startTestApp({ env: { ...shedding, REACTIONS_ENABLED: 'false' } });
    const held = [
      await holdLease(app.databaseUrl, `${SAGA}/1`, 0),
      await holdLease(app.databaseUrl, 'c/2', 1),
      await holdLease(app.databaseUrl, 'relay-key-a'),
      await holdLease(app.databaseUrl, 'relay-1'),
    ];
    try {
      await app.db.query(
        `INSERT INTO subscription_checkpoints (subscription_id, segment, segments) VALUES ('a', 0, 1), ('b', 0, 1), ('c', 0, 2), ('c', 1, 2)
         ON CONFLICT DO NOTHING`,
      );
      const leaseHeld = async (relayId: string, relayKey: string) => {
        const rows: Array<{ subscriptionId: string; segment: number; leaseHeld: boolean }> = await app.db.query(LAG_SAMPLE_SQL, [relayId, relayKey]);
        return Object.fromEntries(rows.filter(({ subscriptionId }) => [SAGA, 'a', 'b', 'c'].includes(subscriptionId)).map((row) => [`${row.subscriptionId}#${row.segment}`, row.leaseHeld]));
      };
      expect(await leaseHeld('a', 'relay-key-a')).toEqual({ [`${SAGA}#0`]: true, 'a#0': true, 'b#0': false, 'c#0': false, 'c#1': true });
      expect(await leaseHeld('b', 'relay-1')).toEqual({ [`${SAGA}#0`]: true, 'a#0': false, 'b#0': true, 'c#0': false, 'c#1': true });
      expect(await leaseHeld('b', 'relay-2')).toEqual({ [`${SAGA}#0`]: true, 'a#0': false, 'b#0': false, 'c#0': false, 'c#1': true });
    } finally {
      for (const lease of held) await lease.release();
      await app.close();
    }
  }, 60_000);

  it('accepts every command with both bounds at 0', async () => {
    const { app, lease } = await startWithSagaStalled({ ...shedding, ADMISSION_MAX_LAG_MS: '0', ADMISSION_MAX_LAG_EVENTS: '0' });
    try {
      const customerId = await registerUser(app);
      await eventually(async () => expect(await sagaLagMs(app)).toBeGreaterThan(MAX_LAG_MS * 2), 10_000);
      for (let i = 0; i < 3; i += 1) {
        await app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await lease.release();
      await app.close();
    }
  }, 60_000);
});
