import { randomUUID } from 'node:crypto';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';
import { registerUser } from './support/fixtures';
import { eventually, type TestApp } from './support/test-app';
import type { FlowNode } from '../src/flows/flow-graph';

/**
 * GET /flows/{correlationId} against the real API, PostgreSQL, RabbitMQ and the consumer app (a
 * built child process with its own database, asked over HTTP): one correlation id carried by the
 * request that places an order and by the one that cancels it draws the whole saga, from both
 * requests to the consumer's effects, with times in causal order and the gaps between them.
 */
const CONSUMER_RETRY_DELAYS_MS = [200];


let apps: ApiWithConsumer;
let api: TestApp;

beforeAll(async () => {
  apps = await startApiWithConsumer({ consumerMaxAttempts: 3, retryDelaysMs: CONSUMER_RETRY_DELAYS_MS });
  api = apps.api;
}, 60_000);

afterAll(async () => {
  await apps?.close();
});

/** Places an order and cancels it once confirmed, both requests under `correlationId`; the flow once every event reached the consumer. */
async function orderPlacedConfirmedCancelledCompensated(correlationId: string): Promise<{ orderId: string; customerId: string; nodes: FlowNode[]; body: Record<string, unknown> }> {
  const customerId = await registerUser(api, { creditLimit: 10_000 });
  const placed = await api
    .http()
    .post('/orders')
    .set('x-correlation-id', correlationId)
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'FLOW-1', quantity: 2, unitPrice: 1_250 }] })
    .expect(202);
  const orderId: string = placed.body.id;
  await eventually(async () => expect((await api.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('CONFIRMED'));
  await api.http().post(`/orders/${orderId}/cancel`).set('x-correlation-id', correlationId).send({ reason: 'changed my mind' }).expect(202);

  let body: Record<string, unknown> = {};
  await eventually(async () => {
    ({ body } = await api.http().get(`/flows/${correlationId}`).set('accept', 'application/json').expect(200));
    const nodes = body.nodes as FlowNode[];
    expect(nodes.filter((node) => node.kind === 'event').map((node) => node.label)).toContain('CreditReleased');
    const consumerNodes = nodes.filter((node) => node.kind === 'consumer-effect');
    expect(consumerNodes).toHaveLength(5);
    expect(consumerNodes.every((node) => node.consumer?.status === 'applied')).toBe(true);
    // The consumer may apply a message before the relay has recorded its confirm: wait for that too.
    expect(nodes.filter((node) => node.kind === 'publish').every((node) => node.publish?.status === 'published')).toBe(true);
  }, 30_000);
  return { orderId, customerId, nodes: body.nodes as FlowNode[], body };
}

describe('GET /flows/{correlationId}', () => {
  let flow: Awaited<ReturnType<typeof orderPlacedConfirmedCancelledCompensated>>;
  const correlationId = `flow-test-${randomUUID()}`;

  beforeAll(async () => {
    flow = await orderPlacedConfirmedCancelledCompensated(correlationId);
  }, 60_000);

  it('draws every step of an order placed, confirmed, cancelled and compensated, each linked to its cause', () => {
    const { nodes, orderId } = flow;
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const one = (kind: string, label: string): FlowNode => {
      const found = nodes.filter((node) => node.kind === kind && node.label === label);
      expect(found.map((node) => `${node.kind} ${node.label}`)).toEqual([`${kind} ${label}`]);
      return found[0];
    };
    const causeOf = (node: FlowNode) => byId.get(node.causedBy!)!;

    // Two requests, each the root of its own tree.
    const place = one('request', 'POST /orders');
    const cancel = one('request', `POST /orders/${orderId}/cancel`);
    expect(place.causedBy).toBeNull();
    expect(cancel.causedBy).toBeNull();

    // request → command → event → saga step → command → event …
    const chain = (labels: Array<[string, string]>, root: FlowNode) => {
      let cause = root;
      for (const [kind, label] of labels) {
        const node = one(kind, label);
        expect(causeOf(node)).toBe(cause);
        cause = node;
      }
    };
    chain(
      [
        ['command', 'PlaceOrderCommand'],
        ['event', 'OrderPlaced'],
        ['reaction-step', 'order-credit: reserveCreditForPlacedOrder'],
        ['command', 'ReserveCreditCommand'],
        ['event', 'CreditReserved'],
        ['reaction-step', 'order-fulfilment: confirmOrderWhenCreditReserved'],
        ['command', 'ConfirmOrderCommand'],
        ['event', 'OrderConfirmed'],
      ],
      place,
    );
    chain(
      [
        ['command', 'CancelOrderCommand'],
        ['event', 'OrderCancelled'],
        ['reaction-step', 'order-credit: releaseCreditOfClosedOrder'],
        ['command', 'ReleaseCreditCommand'],
        ['event', 'CreditReleased'],
      ],
      cancel,
    );
    // The order's deadline is written with its placement, no step of a reaction: the credit step
    // is the only one OrderPlaced causes.
    expect(nodes.filter((node) => node.kind === 'reaction-step' && causeOf(node).label === 'OrderPlaced').map((node) => node.label)).toEqual([
      'order-credit: reserveCreditForPlacedOrder',
    ]);

    // Every event is published once, and the consumer applied each, with its effects.
    for (const event of nodes.filter((node) => node.kind === 'event')) {
      const publish = byId.get(`publish:${event.id.slice('event:'.length)}`)!;
      expect(publish).toMatchObject({ kind: 'publish', causedBy: event.id, publish: { status: 'published' } });
      expect(publish.label).toMatch(/^com\.example\.(orders|users)\.[a-z-]+\.v\d+$/);
      expect(publish.at).not.toBeNull();
      const effect = byId.get(`consumer:${event.id.slice('event:'.length)}`)!;
      expect(effect).toMatchObject({ kind: 'consumer-effect', causedBy: publish.id, consumer: { status: 'applied' } });
    }
    const effectsOf = (eventLabel: string) => byId.get(`consumer:${one('event', eventLabel).id.slice('event:'.length)}`)!.consumer!.effects;
    expect(effectsOf('OrderPlaced')).toEqual([{ readModel: 'customer-stats' }]);
    expect(effectsOf('OrderConfirmed')).toEqual([
      expect.objectContaining({ readModel: 'notifications', kind: 'ORDER_CONFIRMED' }),
      { readModel: 'customer-stats' },
    ]);
    expect(effectsOf('OrderCancelled')).toEqual([
      expect.objectContaining({ readModel: 'notifications', kind: 'ORDER_CANCELLED' }),
      { readModel: 'customer-stats' },
    ]);

    // 2 requests, 5 commands, 5 events, 3 steps, 5 publishes, 5 effects: and nothing else.
    const counts = Object.fromEntries(['request', 'command', 'event', 'reaction-step', 'publish', 'consumer-effect'].map((kind) => [kind, nodes.filter((node) => node.kind === kind).length]));
    expect(counts).toEqual({ request: 2, command: 5, event: 5, 'reaction-step': 3, publish: 5, 'consumer-effect': 5 });
    expect(flow.body.consumer).toEqual({ status: 'reachable' });
    expect(flow.body.truncated).toBe(false);
  });

  it('gives every node a time no earlier than its cause, with the gap and the offset from the start computed', () => {
    const { nodes, body } = flow;
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const start = Date.parse(body.startedAt as string);
    const times = nodes.map((node) => Date.parse(node.at!));
    expect(times.every(Number.isFinite)).toBe(true);
    expect(Math.min(...times)).toBe(start);
    expect(Math.max(...times)).toBe(Date.parse(body.endedAt as string));
    expect(body.durationMs).toBe(Math.max(...times) - start);
    // Earliest first.
    expect(times).toEqual([...times].sort((a, b) => a - b));
    for (const node of nodes) {
      expect(node.offsetMs).toBe(Date.parse(node.at!) - start);
      if (!node.causedBy) {
        expect(node.gapMs).toBeNull();
        continue;
      }
      const cause = byId.get(node.causedBy)!;
      expect({ node: node.id, gapMs: node.gapMs }).toEqual({ node: node.id, gapMs: Date.parse(node.at!) - Date.parse(cause.at!) });
      expect({ node: node.id, gapMs: node.gapMs! >= 0 }).toEqual({ node: node.id, gapMs: true });
    }
    // The cancel came after the order was confirmed, and the consumer applied each event after it was published.
    const label = (text: string) => nodes.find((node) => node.label === text)!;
    expect(Date.parse(label(`POST /orders/${flow.orderId}/cancel`).at!)).toBeGreaterThanOrEqual(Date.parse(label('OrderConfirmed').at!));
  });

  it('links every event of the audit trail to its flow', async () => {
    const { body } = await api.http().get(`/streams/${flow.orderId}/events`).expect(200);
    expect(body.events.map((event: { type: string }) => event.type)).toEqual(['OrderPlaced', 'OrderConfirmed', 'OrderCancelled']);
    for (const event of body.events) {
      expect(event.links).toEqual({ flow: `/flows/${correlationId}` });
      expect(event.metadata.command.name).toMatch(/Command$/);
    }
    const { body: user } = await api.http().get(`/streams/${flow.customerId}/events`).expect(200);
    const registered = user.events[0];
    expect(registered.links.flow).toBe(`/flows/${registered.metadata.correlationId}`);
    await api.http().get(registered.links.flow).set('accept', 'application/json').expect(200);
  });

  it('records publish times once per relayed batch, not once per event', async () => {
    const [{ batches, events }] = await api.db.query(
      `SELECT (SELECT count(*)::int FROM relay_batches) AS batches, (SELECT count(*)::int FROM events) AS events`,
    );
    expect(batches).toBeGreaterThan(0);
    const [covered] = await api.db.query(
      `SELECT count(*)::int AS n FROM events e WHERE EXISTS (
         SELECT 1 FROM relay_batches b WHERE e.global_position BETWEEN b.first_global_position AND b.last_global_position)`,
    );
    expect(covered.n).toBe(events);
  });

  it('answers a browser the page, and a program without a token 401', async () => {
    const page = await api.http({ token: null }).get(`/flows/${correlationId}`).set('accept', 'text/html,application/xhtml+xml,*/*;q=0.8').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers.vary).toMatch(/accept/i);
    expect(page.text).toContain('<script type="module" src="/flows/assets/flow-page.js">');
    expect(page.text).not.toContain(correlationId);
    const json = await api.http({ token: null }).get(`/flows/${correlationId}`).set('accept', 'application/json').expect(401);
    expect(json.headers['content-type']).toMatch(/^application\/problem\+json/);
    await api.http({ token: null }).get(`/flows/${correlationId}`).expect(401);
    const script = await api.http({ token: null }).get('/flows/assets/cytoscape.esm.min.mjs').expect(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    await api.http({ token: null }).get('/flows/assets/unknown.js').expect(404);
  });

  it('answers 404 for a correlation id no event carries, and 400 for one no request could carry, as problem+json', async () => {
    const unknown = await api.http().get(`/flows/never-seen-${randomUUID()}`).expect(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(unknown.body).toMatchObject({ status: 404, code: 'FLOW_NOT_FOUND' });
    const invalid = await api.http().get(`/flows/${encodeURIComponent('not an id!')}`).expect(400);
    expect(invalid.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(invalid.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ field: 'correlationId' }] });
    // The longest X-Correlation-Id is a valid one; one character more is not.
    expect((await api.http().get(`/flows/${'x'.repeat(128)}`).expect(404)).body.code).toBe('FLOW_NOT_FOUND');
    await api.http().get(`/flows/${'x'.repeat(129)}`).expect(400);
  });

  it("asks the consumer's GET /inbox, which answers only for event ids, with a token of the admin scope", async () => {
    const placed = flow.nodes.find((node) => node.label === 'OrderPlaced')!;
    const eventId = placed.id.slice('event:'.length);
    const { status, body } = await apps.consumer.get(`/inbox?eventId=${eventId}&eventId=${randomUUID()}`);
    expect(status).toBe(200);
    expect(body.items).toEqual([
      { eventId, type: 'com.example.orders.order-placed.v1', appliedAt: expect.any(String), effects: [{ readModel: 'customer-stats' }] },
    ]);
    const invalid = await apps.consumer.get('/inbox?eventId=not-a-uuid');
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await apps.consumer.get('/inbox')).status).toBe(400);
    const anonymous = await fetch(`${apps.consumer.url}/inbox?eventId=${eventId}`);
    expect(anonymous.status).toBe(401);
  });

  it('still draws the flow when the consumer cannot be reached, and says so on its nodes', async () => {
    await apps.consumer.kill();
    const { body } = await api.http().get(`/flows/${correlationId}`).expect(200);
    expect(body.consumer.status).toBe('unreachable');
    expect(body.consumer.detail).toMatch(/unreachable/);
    const effects = (body.nodes as FlowNode[]).filter((node) => node.kind === 'consumer-effect');
    expect(effects).toHaveLength(5);
    for (const effect of effects) expect(effect).toMatchObject({ at: null, gapMs: null, consumer: { status: 'consumer-unreachable', effects: [] } });
    expect((body.nodes as FlowNode[]).filter((node) => node.kind !== 'consumer-effect').every((node) => node.at !== null)).toBe(true);
  });
});
