import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { EVENTS_OF_CORRELATION, MAX_FLOW_EVENTS } from '../src/flows/flow-records';
import { registerUser, uniqueEmail } from './support/fixtures';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { testToken } from './support/test-auth';
import { createMigratedDataSource } from './support/test-database';
import type { FlowNode } from '../src/flows/flow-graph';

/**
 * GET /flows/{correlationId} where the world is not kind: a consumer that answers garbage or
 * redirects, requests sent raw, requests of one correlation id in the same millisecond, and an
 * API whose clock is behind the database's. The API is real (PostgreSQL, RabbitMQ); the consumer
 * is a stand-in HTTP server in this process, which answers as the real one does unless a test
 * tells it otherwise (CONSUMER_URL points to it).
 */

type Answer = (request: IncomingMessage, response: ServerResponse, eventIds: string[]) => void;

/** What the real consumer answers: every asked event applied now, with no effect. */
const applied: Answer = (_, response, eventIds) =>
  response.end(JSON.stringify({ items: eventIds.map((eventId) => ({ eventId, type: 'x', appliedAt: new Date().toISOString(), effects: [] })) }));

let api: TestApp;
let origin: string;
let consumer: Server;
let answer: Answer = applied;
/** Requests the stand-in consumer received. */
const asked: Array<{ url: string; authorization?: string }> = [];

beforeAll(async () => {
  consumer = createServer((request, response) => {
    asked.push({ url: request.url!, authorization: request.headers.authorization });
    answer(request, response, new URL(request.url!, 'http://consumer').searchParams.getAll('eventId'));
  });
  await new Promise<void>((resolve) => consumer.listen(0, '127.0.0.1', resolve));
  api = await startTestApp({ env: { CONSUMER_URL: `http://127.0.0.1:${(consumer.address() as AddressInfo).port}`, CONSUMER_TIMEOUT_MS: '1000' } });
  await api.app.listen(0, '127.0.0.1');
  origin = `http://127.0.0.1:${(api.app.getHttpServer().address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await api?.close();
  consumer?.closeAllConnections();
  await new Promise((resolve) => consumer?.close(resolve));
});

afterEach(() => {
  answer = applied;
  asked.length = 0;
});

/** Places an order under `correlationId` and waits until the saga confirmed it and every event was published. */
async function placeConfirmedOrder(correlationId: string): Promise<FlowNode[]> {
  const customerId = await registerUser(api, { creditLimit: 10_000 });
  await api
    .http()
    .post('/orders')
    .set('x-correlation-id', correlationId)
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'EDGE-1', quantity: 1, unitPrice: 500 }] })
    .expect(202);
  let nodes: FlowNode[] = [];
  await eventually(async () => {
    ({ nodes } = (await api.http().get(`/flows/${correlationId}`).expect(200)).body);
    expect(nodes.filter((node) => node.kind === 'publish' && node.at !== null).map((node) => node.label)).toContain('com.example.orders.order-confirmed.v1');
  }, 20_000);
  return nodes;
}

/** Sends `head` and `body` as they are, on a socket of its own; resolves with the status line. */
function sendRaw(head: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(new URL(origin).port), '127.0.0.1', () =>
      socket.write(`${head}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`),
    );
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.on('end', () => resolve(received.split('\r\n')[0]));
    socket.on('error', reject);
  });
}

describe('the consumer stand-in', () => {
  const correlationId = `edge-consumer-${randomUUID()}`;
  let publishedEvents: number;

  beforeAll(async () => {
    publishedEvents = (await placeConfirmedOrder(correlationId)).filter((node) => node.kind === 'publish').length;
  }, 60_000);

  it.each<[string, Answer]>([
    ['a time that is not a time', (_, response, ids) => response.end(JSON.stringify({ items: ids.map((eventId) => ({ eventId, appliedAt: 'yesterday', effects: [] })) }))],
    ['effects that are not a list', (_, response, ids) => response.end(JSON.stringify({ items: ids.map((eventId) => ({ eventId, appliedAt: new Date().toISOString(), effects: 'many' })) }))],
    ['an effect without its read model', (_, response, ids) => response.end(JSON.stringify({ items: ids.map((eventId) => ({ eventId, appliedAt: new Date().toISOString(), effects: [{}] })) }))],
    ['no items', (_, response) => response.end(JSON.stringify({ count: 3 }))],
    ['null', (_, response) => response.end('null')],
  ])('answering %s leaves the flow drawn, and the consumer reported as not answering', async (_, garbage) => {
    answer = garbage;
    const { body } = await api.http().get(`/flows/${correlationId}`).expect(200);
    expect(body.consumer).toEqual({ status: 'unreachable', detail: expect.stringMatching(/not an answer of GET \/inbox/) });
    const effects = (body.nodes as FlowNode[]).filter((node) => node.kind === 'consumer-effect');
    expect(effects).toHaveLength(publishedEvents);
    for (const effect of effects) expect(effect).toMatchObject({ at: null, gapMs: null, label: 'consumer unreachable' });
  });

  it('is not followed when it redirects: the caller\'s token and the flow\'s event ids go to CONSUMER_URL only', async () => {
    const elsewhere = createServer((request, response) => {
      asked.push({ url: `elsewhere${request.url}`, authorization: request.headers.authorization });
      applied(request, response, new URL(request.url!, 'http://elsewhere').searchParams.getAll('eventId'));
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    try {
      // Same host, another port: another origin, which fetch would follow (keeping no Authorization).
      answer = (request, response) => {
        response.writeHead(307, { location: `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}${request.url}` });
        response.end();
      };
      const { body } = await api.http().get(`/flows/${correlationId}`).expect(200);
      expect(asked.filter(({ url }) => url.startsWith('elsewhere'))).toEqual([]);
      expect(body.consumer).toEqual({ status: 'unreachable', detail: expect.stringMatching(/answered 307/) });
    } finally {
      elsewhere.closeAllConnections();
      await new Promise((resolve) => elsewhere.close(resolve));
    }
  });
});

describe('what a request leaves in its events', () => {
  it('is its path without the query or the fragment a client sent', async () => {
    const token = await testToken();
    for (const target of ['/users?access_token=secret-1', '/users#access_token=secret-2', '/users#<img/src=x/onerror=alert(1)>']) {
      const correlationId = `edge-path-${randomUUID()}`;
      const status = await sendRaw(
        `POST ${target} HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nX-Correlation-Id: ${correlationId}`,
        JSON.stringify({ email: uniqueEmail(), name: 'Raw Client' }),
      );
      expect({ target, status }).toEqual({ target, status: 'HTTP/1.1 201 Created' });
      const [{ request }] = await api.db.query(`SELECT metadata -> 'request' AS request FROM events WHERE metadata ->> 'correlationId' = $1`, [correlationId]);
      expect({ target, path: request.path }).toEqual({ target, path: '/users' });
      const { body } = await api.http().get(`/flows/${correlationId}`).expect(200);
      expect((body.nodes as FlowNode[]).find((node) => node.kind === 'request')?.label).toBe('POST /users');
    }
  });

  it('keeps two requests of one correlation id apart, though they arrive in the same millisecond', async () => {
    const correlationId = `edge-same-ms-${randomUUID()}`;
    const token = await testToken();
    const register = () =>
      fetch(`${origin}/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-correlation-id': correlationId },
        body: JSON.stringify({ email: uniqueEmail(), name: 'Same Millisecond' }),
      });
    // Two clients reusing one correlation id, in the same millisecond of the API's clock.
    const now = Date.now;
    const frozen = now();
    Date.now = () => frozen;
    let statuses: number[];
    try {
      statuses = (await Promise.all([register(), register()])).map((response) => response.status);
    } finally {
      Date.now = now;
    }
    expect(statuses).toEqual([201, 201]);
    const { body } = await api.http().get(`/flows/${correlationId}`).expect(200);
    const nodes = body.nodes as FlowNode[];
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const kinds = (kind: string) => nodes.filter((node) => node.kind === kind);
    expect(kinds('request')).toHaveLength(2);
    expect(kinds('command')).toHaveLength(2);
    expect(kinds('event')).toHaveLength(2);
    // Each request → its own command → its own event.
    expect(new Set(kinds('event').map((event) => byId.get(event.causedBy!)!.id)).size).toBe(2);
    expect(new Set(kinds('command').map((command) => command.causedBy)).size).toBe(2);
  });
});

describe('an API whose clock is 500 ms behind the database\'s', () => {
  it('never lists a node before its cause, nor gives it a negative gap, and says whose time was moved', async () => {
    // The API's clocks (its Clock and Date.now) lag; PostgreSQL's now() (the saga's steps) and
    // the consumer's clock do not: what hosts whose clocks disagree record.
    const { Clock } = await import('../src/shared/clock');
    const clock = api.app.get(Clock);
    const now = Date.now;
    const clockNow = clock.now;
    Date.now = () => now() - 500;
    clock.now = () => new Date(now() - 500);
    let nodes: FlowNode[];
    try {
      nodes = await placeConfirmedOrder(`edge-skew-${randomUUID()}`);
    } finally {
      Date.now = now;
      clock.now = clockNow;
    }
    const position = new Map(nodes.map((node, index) => [node.id, index]));
    for (const node of nodes) {
      if (node.causedBy === null) continue;
      expect({ node: node.label, afterItsCause: position.get(node.id)! > position.get(node.causedBy)! }).toEqual({ node: node.label, afterItsCause: true });
      if (node.gapMs !== null) expect({ node: node.label, gapMs: node.gapMs >= 0 }).toEqual({ node: node.label, gapMs: true });
    }
    const offsets = nodes.flatMap((node) => (node.offsetMs === null ? [] : [node.offsetMs]));
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    // The commands the saga's steps sent were recorded before the steps (by 500 ms less the step's
    // own time): their times are kept as recorded, and they say by how much they were moved.
    const moved = nodes.filter((node) => node.clockSkewMs !== undefined);
    expect(moved.map((node) => node.label)).toEqual(expect.arrayContaining(['ReserveCreditCommand', 'ConfirmOrderCommand']));
    for (const node of moved) expect(node.clockSkewMs).toBeGreaterThan(300);
  }, 60_000);
});

describe('the JSON of a flow', () => {
  it('varies by Accept and is not stored by caches, so a browser\'s Back never shows it in place of the page', async () => {
    const correlationId = `edge-cache-${randomUUID()}`;
    await api.http().post('/users').set('x-correlation-id', correlationId).send({ email: uniqueEmail(), name: 'Cache' }).expect(201);
    const json = await api.http().get(`/flows/${correlationId}`).set('accept', 'application/json').expect(200);
    expect(json.headers.vary).toMatch(/\baccept\b/i);
    expect(json.headers['cache-control']).toMatch(/\bno-store\b/);
  });
});

describe('a correlation id that thousands of events share (a batch job sending one X-Correlation-Id)', () => {
  it('finds the first events of the flow by an index, in order, without reading the events of other flows', async () => {
    const { dataSource, drop } = await createMigratedDataSource();
    try {
      // 25,000 events of other requests, then 5,000 of the job: what a store holds at the job's end.
      const append = (count: number, correlationId: string) =>
        dataSource.query(
          `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
           SELECT gen_random_uuid(), 'Order', gen_random_uuid(), 1, 'OrderPlaced', jsonb_build_object('note', repeat('x', 200)),
             jsonb_build_object('correlationId', coalesce($2, gen_random_uuid()::text), 'causationId', 'c', 'occurredAt', now())
           FROM generate_series(1, $1::int)`,
          [count, correlationId],
        );
      await append(25_000, null as unknown as string);
      await append(5_000, 'nightly-import');
      await dataSource.query('ANALYZE events');

      const [{ 'QUERY PLAN': [plan] }] = await dataSource.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${EVENTS_OF_CORRELATION}`, ['nightly-import', MAX_FLOW_EVENTS + 1]);
      expect(plan.Plan['Actual Rows']).toBe(MAX_FLOW_EVENTS + 1);
      // The pages of the first 1,001 of the job's events, and the index's: under half the pages of
      // its 5,000 (reading them all and sorting takes those), far under the table's 25,000 others.
      const [{ pages }] = await dataSource.query(`SELECT relpages AS pages FROM pg_class WHERE relname = 'events'`);
      const buffers = plan.Plan['Shared Hit Blocks'] + plan.Plan['Shared Read Blocks'];
      expect(buffers).toBeLessThan((pages * (5_000 / 30_000)) / 2);
    } finally {
      await drop();
    }
  }, 60_000);
});
