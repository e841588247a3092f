import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import amqp from 'amqplib';
import { CommandBus } from '@nestjs/cqrs';
import { INTEGRATION_EVENT_CONTRACTS } from '../src/contracts';
import { withCommandCause } from '../src/event-store';
import { ReserveCreditCommand } from '../src/modules/users/commands/reserve-credit/reserve-credit.command';
import { messageName } from '../src/asyncapi/asyncapi-document';
import { placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { TEST_RABBITMQ_URL } from './support/test-broker';

/** The AsyncAPI document the API serves: valid for the AsyncAPI parser, open, and true to the messages the relay publishes. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let app: TestApp;
let document: Json;

beforeAll(async () => {
  app = await startTestApp();
  document = (await app.http({ token: null }).get('/asyncapi.json').expect(200)).body;
});
afterAll(() => app?.close());

describe('GET /asyncapi.json', () => {
  it('is an AsyncAPI 3 document the AsyncAPI parser reads with no error or warning', async () => {
    const response = await app.http({ token: null }).get('/asyncapi.json').expect(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const { document: parsed, diagnostics } = await new Parser().parse(response.text);
    const serious = diagnostics.filter((diagnostic) => diagnostic.severity <= DiagnosticSeverity.Warning);
    if (serious.length > 0 || !parsed) {
      const lines = diagnostics.map((d) => `${DiagnosticSeverity[d.severity]} ${d.code} at ${d.path.join('/') || '(root)'}: ${d.message}`);
      throw new Error(`the AsyncAPI parser refuses /asyncapi.json:\n${lines.join('\n')}`);
    }
    expect(parsed.version()).toBe('3.0.0');
    expect(parsed.channels().all().map((channel) => channel.address()).sort()).toEqual([...INTEGRATION_EVENT_CONTRACTS.keys()].sort());
    expect(parsed.messages().all().map((message) => message.name()).sort()).toEqual([...INTEGRATION_EVENT_CONTRACTS.keys()].map(messageName).sort());
    expect(parsed.operations().all().every((operation) => operation.isSend())).toBe(true);
    // The message trait is applied: every message has the cloudEvents: headers.
    for (const message of parsed.messages().all()) {
      expect(Object.keys(message.headers()?.properties() ?? {})).toEqual(expect.arrayContaining(['cloudEvents:sequence', 'cloudEvents:correlationid']));
    }
  }, 60_000);

  it("describes this app's broker and exchange, without the broker's credentials", () => {
    expect(document.servers.rabbitmq).toMatchObject({ host: '127.0.0.1:5672', protocol: 'amqp' });
    for (const channel of Object.values<Json>(document.channels)) {
      expect(channel.bindings.amqp).toMatchObject({ is: 'routingKey', exchange: { name: app.topology.exchange, type: 'topic' } });
    }
    expect(JSON.stringify(document)).not.toContain(new URL(TEST_RABBITMQ_URL).password);
  });

  it('needs no token, like /docs', async () => {
    await app.http({ token: 'not-a-token' }).get('/asyncapi.json').expect(200);
    await app.http({ token: null }).get('/asyncapi').expect(200);
  });
});

describe('GET /asyncapi', () => {
  it('is a page that loads its script and stylesheet from this origin, under the CSP', async () => {
    const page = await app.http({ token: null }).get('/asyncapi').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    // Eval for the renderer on this page alone; the document and every other response keep the strict policy.
    expect(page.headers['content-security-policy']).toContain("script-src 'self' 'unsafe-eval';");
    for (const other of ['/asyncapi.json', '/docs', '/health/live']) {
      const csp = (await app.http({ token: null }).get(other)).headers['content-security-policy'];
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toContain('unsafe-eval');
    }
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]).filter((url) => url !== 'asyncapi.json' && url !== 'data:,');
    expect(assets).toEqual(['asyncapi/assets/asyncapi-default.min.css', 'asyncapi/assets/asyncapi-standalone.js', 'asyncapi/assets/asyncapi-page.js']);
    for (const asset of assets) {
      const response = await app.http({ token: null }).get(`/${asset}`).expect(200);
      expect(response.headers['content-type']).toMatch(asset.endsWith('.css') ? /^text\/css/ : /^text\/javascript/);
      expect(Number(response.headers['content-length'] ?? (response.text ?? '').length)).toBeGreaterThan(0);
    }
  });

  it('answers 404 problem+json for an asset it does not have (no path into node_modules)', async () => {
    const response = await app.http({ token: null }).get('/asyncapi/assets/..%2F..%2Fpackage.json').expect(404);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('hostile paths', () => {
  it('answers problem+json with the security headers for an asset name too long to route or a malformed escape, as for any other path', async () => {
    for (const [path, status] of [
      [`/asyncapi/assets/${'a'.repeat(5_000)}`, 414],
      ['/asyncapi/assets/%ZZ', 400],
      [`/orders/${'a'.repeat(5_000)}`, 414],
    ] as const) {
      const response = await app.http({ token: null }).get(path);
      expect({ path: path.slice(0, 40), status: response.status, type: response.headers['content-type'] }).toEqual({
        path: path.slice(0, 40),
        status,
        type: expect.stringMatching(/^application\/problem\+json/),
      });
      expect(response.body).toMatchObject({ status, instance: expect.any(String), correlationId: expect.any(String) });
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['content-security-policy']).toContain("script-src 'self';");
    }
  });

  it('never serves the page, or its looser policy, under another path', async () => {
    for (const path of ['/asyncapi/', '/ASYNCAPI', '/asyncapi;x', '//asyncapi', '/asyncapi/./assets/asyncapi-page.js', '/asyncapi%2Fassets%2Fasyncapi-page.js']) {
      const response = await app.http({ token: null }).get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.headers['content-security-policy']).not.toContain('unsafe-eval');
    }
    for (const name of ['constructor', '__proto__', '..%2F..%2F..%2Fpackage.json', '%2e%2e%2fpackage.json', 'ASYNCAPI-PAGE.JS']) {
      const response = await app.http({ token: null }).get(`/asyncapi/assets/${name}`);
      expect({ name, status: response.status, type: response.headers['content-type'] }).toEqual({ name, status: 404, type: expect.stringMatching(/^application\/problem\+json/) });
    }
  });
});

describe('the messages the relay publishes', () => {
  it('each match the payload and headers schemas of their message in the document', async () => {
    const connection = await amqp.connect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, app.topology.exchange, '#');

      // A flow that publishes most contracts: registered, placed → credit reserved → confirmed,
      // shipped → credit consumed, placed → cancelled → credit released, a late reservation →
      // credit declined, an order over the limit → credit rejected → rejected, email changed, deactivated.
      const customerId = await registerUser(app, { creditLimit: 10_000 });
      const shipped = await placeOrder(app, customerId);
      await eventually(async () => expect((await app.http().get(`/orders/${shipped}`).expect(200)).body.status).toBe('CONFIRMED'));
      await app.http().post(`/orders/${shipped}/ship`).expect(202);
      const cancelled = await placeOrder(app, customerId);
      await eventually(async () => expect((await app.http().get(`/orders/${cancelled}`).expect(200)).body.status).toBe('CONFIRMED'));
      await app.http().post(`/orders/${cancelled}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      // Credit reserved once the order was cancelled and its credit released (a parked reservation
      // retried late): the order declines it.
      await eventually(async () => {
        const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE event_type = 'CreditReleased' AND payload->>'orderId' = $1`, [cancelled]);
        expect(n).toBe(1);
      });
      await withCommandCause({ correlationId: `late-${cancelled}`, causationId: cancelled }, () =>
        app.app.get(CommandBus).execute(new ReserveCreditCommand(customerId, cancelled, 100)),
      );
      await eventually(async () => {
        const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND event_type = 'OrderCreditDeclined'`, [cancelled]);
        expect(n).toBe(1);
      });
      await placeOrder(app, customerId, [{ sku: 'CAR-1', quantity: 1, unitPrice: 1_000_000 }]);
      await app.http().put(`/users/${customerId}/email`).send({ email: `changed-${customerId}@example.com` }).expect(204);
      await app.http().post(`/users/${customerId}/deactivate`).expect(204);

      const ajv = new Ajv({ strict: false, allErrors: true });
      addFormats(ajv);
      ajv.addSchema(document, 'asyncapi');
      const received = new Map<string, { body: Json; headers: Json }>();
      await eventually(async () => {
        for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
          received.set(String(message.fields.routingKey), { body: JSON.parse(message.content.toString()), headers: message.properties.headers ?? {} });
        }
        expect([...received.keys()].sort()).toEqual([...INTEGRATION_EVENT_CONTRACTS.keys()].sort());
      }, 30_000);

      const problems: string[] = [];
      for (const [routingKey, { body, headers }] of received) {
        const name = messageName(routingKey);
        const payload = ajv.getSchema(`asyncapi#/components/messages/${name}/payload`)!;
        if (!payload(body)) problems.push(`${name} body: ${ajv.errorsText(payload.errors)}`);
        const headersSchema = ajv.getSchema('asyncapi#/components/messageTraits/cloudEvent/headers')!;
        if (!headersSchema(headers)) problems.push(`${name} headers: ${ajv.errorsText(headersSchema.errors)}`);
      }
      expect(problems).toEqual([]);

      // The schemas bite: the same message with a wrong field, or with the unpadded sequence, is refused.
      const placed = received.get('com.example.orders.order-placed.v1')!.body;
      const placedSchema = ajv.getSchema('asyncapi#/components/messages/order-placed.v1/payload')!;
      expect(placedSchema(placed)).toBe(true);
      expect(placedSchema({ ...placed, data: { ...placed.data, total: '2500' } })).toBe(false);
      expect(placedSchema({ ...placed, data: { ...placed.data, lines: [] } })).toBe(false);
      expect(placedSchema({ ...placed, sequence: '1' })).toBe(false);
      expect(placedSchema({ ...placed, type: 'com.example.orders.order-shipped.v1' })).toBe(false);
      await channel.close();
    } finally {
      await connection.close();
    }
  }, 90_000);
});
