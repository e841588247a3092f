import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { TestApp, eventually, startTestApp } from './support/test-app';

/**
 * Hostile and malformed requests: every one must get a 4xx RFC 9457 problem (never a 5xx, a
 * stack trace or SQL text) and must not write a single row.
 */

const PROBLEM_JSON = /^application\/problem\+json/;
const LEAK = /at .*\.(js|ts):\d+|SELECT|INSERT|UPDATE|QueryFailedError|node_modules/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Rows in the tables a write touches. */
interface RowCounts {
  events: number;
  users: number;
  orders: number;
}

interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  instance: string;
  correlationId: string;
  errors?: Array<{ field: string; message: string }>;
}

let app: TestApp;
let customerId: string;
let orderId: string;
let seedResponse: Response;
let baseline: RowCounts;

async function countRows(): Promise<RowCounts> {
  const [row] = await app.db.query(
    `SELECT (SELECT count(*)::int FROM events) AS events,
            (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM orders) AS orders`,
  );
  return row as RowCounts;
}

/** Asserts the response is a well-formed, leak-free problem+json 4xx and returns its body. */
function expectProblem(response: Response, status: number | number[], code?: string): ProblemBody {
  const allowed = Array.isArray(status) ? status : [status];
  if (!allowed.includes(response.status)) {
    throw new Error(`expected HTTP ${allowed.join(' or ')}, got ${response.status}: ${response.text}`);
  }
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
  expect(response.text).not.toMatch(LEAK);
  const body = JSON.parse(response.text) as ProblemBody;
  expect(body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status: response.status,
      code: expect.any(String),
      instance: expect.any(String),
      correlationId: expect.any(String),
    }),
  );
  expect(response.headers['x-correlation-id']).toBe(body.correlationId);
  if (code) expect(body.code).toBe(code);
  return body;
}

function fieldsOf(body: ProblemBody): string[] {
  return (body.errors ?? []).map((error) => error.field);
}

/** Sends `raw` verbatim as the body, with the given content type (or none). */
function sendRaw(method: 'post' | 'put', path: string, raw: string | undefined, contentType: string | undefined) {
  let test = app.http()[method](path);
  if (contentType) test = test.set('content-type', contentType);
  return raw === undefined ? test : test.send(raw);
}

/**
 * Sends a hostile request, asserts it is answered with the given problem (see `expectProblem`)
 * and that it changed no row in events, users or orders.
 */
async function rejectedWithoutWrites(
  send: () => PromiseLike<Response>,
  status: number | number[],
  code?: string,
): Promise<ProblemBody> {
  const before = await countRows();
  const response = await send();
  const body = expectProblem(response, status, code);
  expect(await countRows()).toEqual(before);
  return body;
}

const validUser = (overrides: Record<string, unknown> = {}) => ({
  email: `u${randomUUID()}@example.com`,
  name: 'Valid Name',
  ...overrides,
});
const validLine = (overrides: Record<string, unknown> = {}) => ({ sku: 'SKU-001', quantity: 2, unitPrice: 1250, ...overrides });
/** A raw JSON order for the seeded customer with one line whose members are `lineMembers` verbatim. */
const orderWithLine = (lineMembers: string) => `{"customerId": "${customerId}", "currency": "EUR", "lines": [{${lineMembers}}]}`;
const validOrder = (overrides: Record<string, unknown> = {}) => ({ customerId, currency: 'EUR', lines: [validLine()], ...overrides });

beforeAll(async () => {
  app = await startTestApp();
  seedResponse = await app.http().post('/users').send({ email: 'seed@example.com', name: 'Seed', creditLimit: 1_000_000 });
  expect(seedResponse.status).toBe(201);
  customerId = seedResponse.body.id;
  const placed = await app.http().post('/orders').send(validOrder()).expect(202);
  orderId = placed.body.id;
  // Let the saga finish with the seed order, so only hostile requests could change the counts.
  await eventually(async () => {
    await app.http().get(`/users/${customerId}`).expect(200);
    expect((await app.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('CONFIRMED');
  });
  baseline = await countRows();
});

afterAll(async () => {
  await app?.close();
});

describe('hostile input: every bad request gets a problem+json 4xx and writes nothing', () => {
  describe('bodies that are not a JSON object', () => {
    it.each([
      { name: 'malformed JSON', path: '/users', raw: '{"email": "a@example.com", "name": ', contentType: 'application/json' },
      { name: 'malformed JSON (trailing comma)', path: '/orders', raw: '{"currency": "EUR",}', contentType: 'application/json' },
      { name: 'a JSON array', path: '/users', raw: '[{"email": "a@example.com", "name": "A"}]', contentType: 'application/json' },
      { name: 'an empty JSON array', path: '/orders', raw: '[]', contentType: 'application/json' },
      { name: 'a JSON string', path: '/users', raw: '"a@example.com"', contentType: 'application/json' },
      { name: 'a JSON number', path: '/users', raw: '42', contentType: 'application/json' },
      { name: 'a JSON boolean', path: '/orders', raw: 'true', contentType: 'application/json' },
      { name: 'JSON null', path: '/users', raw: 'null', contentType: 'application/json' },
      { name: 'JSON null', path: '/orders', raw: 'null', contentType: 'application/json' },
      { name: 'an empty body declared as JSON', path: '/users', raw: '', contentType: 'application/json' },
      { name: 'no body and no content type', path: '/users', raw: undefined, contentType: undefined },
      { name: 'no body and no content type', path: '/orders', raw: undefined, contentType: undefined },
    ])('answers $name on POST $path with 400', async ({ path, raw, contentType }) => {
      const body = await rejectedWithoutWrites(() => sendRaw('post', path, raw, contentType), 400);
      expect(body.instance).toBe(path);
    });
  });

  describe('properties the request does not declare', () => {
    it('rejects an unknown top-level property with 400 naming it in errors', async () => {
      const send = () => app.http().post('/users').send(validUser({ isAdmin: true }));
      const body = await rejectedWithoutWrites(send, 400, 'VALIDATION_FAILED');
      expect(fieldsOf(body)).toContain('isAdmin');
    });

    it('rejects an unknown property inside an order line with 400 naming lines.0.<property>', async () => {
      const body = await rejectedWithoutWrites(
        () => app.http().post('/orders').send(validOrder({ lines: [validLine({ discount: 100 })] })),
        400,
        'VALIDATION_FAILED',
      );
      expect(fieldsOf(body)).toContain('lines.0.discount');
    });

    it.each([
      { name: 'toString', path: '/users', body: () => validUser({ toString: [[true]] }), field: 'toString' },
      { name: 'valueOf', path: '/users', body: () => validUser({ valueOf: 1 }), field: 'valueOf' },
      { name: 'constructor', path: '/orders', body: () => validOrder({ constructor: [] }), field: 'constructor' },
      { name: 'hasOwnProperty in a line', path: '/orders', body: () => validOrder({ lines: [validLine({ hasOwnProperty: 1 })] }), field: 'lines.0.hasOwnProperty' },
    ])('rejects an unknown member named like an Object.prototype property ($name) with 400 naming it', async ({ path, body, field }) => {
      const problem = await rejectedWithoutWrites(() => app.http().post(path).send(body()), 400, 'VALIDATION_FAILED');
      expect(fieldsOf(problem)).toContain(field);
    });

    it('rejects PUT /users/{id}/email with an unknown constructor member and leaves the email unchanged', async () => {
      const send = () => app.http().put(`/users/${customerId}/email`).send({ email: 'other@example.com', constructor: [] });
      expect(fieldsOf(await rejectedWithoutWrites(send, 400, 'VALIDATION_FAILED'))).toContain('constructor');
    });

    it('rejects a status smuggled into a new order with 400 naming it', async () => {
      const send = () => app.http().post('/orders').send(validOrder({ status: 'SHIPPED' }));
      const body = await rejectedWithoutWrites(send, 400, 'VALIDATION_FAILED');
      expect(fieldsOf(body)).toContain('status');
    });
  });

  describe('field values of the wrong type or out of range', () => {
    it.each([
      { name: 'a missing email', body: () => ({ name: 'No Email' }), field: 'email' },
      { name: "email 'not-an-email'", body: () => validUser({ email: 'not-an-email' }), field: 'email' },
      { name: 'an email of 255 characters', body: () => validUser({ email: `${'a'.repeat(243)}@example.com` }), field: 'email' },
      { name: 'an email that is a number', body: () => validUser({ email: 42 }), field: 'email' },
      { name: "name ''", body: () => validUser({ name: '' }), field: 'name' },
      { name: 'a name of 201 characters', body: () => validUser({ name: 'n'.repeat(201) }), field: 'name' },
      { name: 'a name that is an object', body: () => validUser({ name: { first: 'Ada' } }), field: 'name' },
      { name: 'creditLimit -1', body: () => validUser({ creditLimit: -1 }), field: 'creditLimit' },
      { name: 'creditLimit 1e13', body: () => validUser({ creditLimit: 1e13 }), field: 'creditLimit' },
      { name: 'creditLimit 12.5', body: () => validUser({ creditLimit: 12.5 }), field: 'creditLimit' },
      { name: "creditLimit '1000' (a string)", body: () => validUser({ creditLimit: '1000' }), field: 'creditLimit' },
    ])('POST /users with $name → 400 naming $field', async ({ body, field }) => {
      const problem = await rejectedWithoutWrites(() => app.http().post('/users').send(body()), 400, 'VALIDATION_FAILED');
      expect(fieldsOf(problem)).toContain(field);
    });

    it.each([
      { name: "quantity '2' (a string)", body: () => validOrder({ lines: [validLine({ quantity: '2' })] }), field: 'lines.0.quantity' },
      { name: 'quantity 0', body: () => validOrder({ lines: [validLine({ quantity: 0 })] }), field: 'lines.0.quantity' },
      { name: 'quantity 10001', body: () => validOrder({ lines: [validLine({ quantity: 10_001 })] }), field: 'lines.0.quantity' },
      { name: 'unitPrice 12.5', body: () => validOrder({ lines: [validLine({ unitPrice: 12.5 })] }), field: 'lines.0.unitPrice' },
      { name: 'unitPrice -1', body: () => validOrder({ lines: [validLine({ unitPrice: -1 })] }), field: 'lines.0.unitPrice' },
      {
        name: 'a bad quantity in the second line',
        body: () => validOrder({ lines: [validLine(), validLine({ quantity: -3 })] }),
        field: 'lines.1.quantity',
      },
      { name: 'a sku of 65 characters', body: () => validOrder({ lines: [validLine({ sku: 's'.repeat(65) })] }), field: 'lines.0.sku' },
      { name: 'an empty sku', body: () => validOrder({ lines: [validLine({ sku: '' })] }), field: 'lines.0.sku' },
      { name: 'a line without a sku', body: () => validOrder({ lines: [{ quantity: 1, unitPrice: 1 }] }), field: 'lines.0.sku' },
      { name: "currency 'eur'", body: () => validOrder({ currency: 'eur' }), field: 'currency' },
      { name: "currency 'EURO'", body: () => validOrder({ currency: 'EURO' }), field: 'currency' },
      { name: 'lines []', body: () => validOrder({ lines: [] }), field: 'lines' },
      { name: '101 lines', body: () => validOrder({ lines: Array.from({ length: 101 }, () => validLine()) }), field: 'lines' },
      { name: 'lines as an object', body: () => validOrder({ lines: { 0: validLine() } }), field: 'lines' },
      { name: 'a null line', body: () => validOrder({ lines: [null] }), field: 'lines' },
      { name: 'a line that is a string', body: () => validOrder({ lines: ['SKU-001'] }), field: 'lines' },
      { name: 'lines [[]] (an empty array as a line)', body: () => validOrder({ lines: [[]] }), field: 'lines' },
      { name: 'lines [[line]] (a line wrapped in an array)', body: () => validOrder({ lines: [[validLine()]] }), field: 'lines' },
      { name: 'a wrapped line after a valid one', body: () => validOrder({ lines: [validLine(), [validLine()]] }), field: 'lines' },
      { name: 'lines [[[]]]', body: () => validOrder({ lines: [[[]]] }), field: 'lines' },
      { name: "customerId 'abc'", body: () => validOrder({ customerId: 'abc' }), field: 'customerId' },
      { name: 'a missing customerId', body: () => ({ currency: 'EUR', lines: [validLine()] }), field: 'customerId' },
    ])('POST /orders with $name → 400 naming $field', async ({ body, field }) => {
      const fields = fieldsOf(await rejectedWithoutWrites(() => app.http().post('/orders').send(body()), 400, 'VALIDATION_FAILED'));
      expect(fields.some((name) => name === field || name.startsWith(`${field}.`))).toBe(true);
    });

    it.each([
      { name: 'GET /orders?limit=abc', send: () => app.http().get('/orders?limit=abc'), field: 'limit', message: 'limit must be an integer number' },
      {
        name: 'POST /orders with quantity "2"',
        send: () => app.http().post('/orders').send(validOrder({ lines: [validLine({ quantity: '2' })] })),
        field: 'lines.0.quantity',
        message: 'quantity must be an integer number',
      },
      {
        name: 'POST /orders with unitPrice "12"',
        send: () => app.http().post('/orders').send(validOrder({ lines: [validLine({ unitPrice: '12' })] })),
        field: 'lines.0.unitPrice',
        message: 'unitPrice must be an integer number',
      },
      {
        name: 'POST /orders with unitPrice null',
        send: () => app.http().post('/orders').send(validOrder({ lines: [validLine({ unitPrice: null })] })),
        field: 'lines.0.unitPrice',
        message: 'unitPrice must be an integer number',
      },
      {
        name: 'POST /users with creditLimit "5000"',
        send: () => app.http().post('/users').send(validUser({ creditLimit: '5000' })),
        field: 'creditLimit',
        message: 'creditLimit must be an integer number',
      },
    ])('$name → 400 saying the type, not the range', async ({ send, field, message }) => {
      const problem = await rejectedWithoutWrites(send, 400, 'VALIDATION_FAILED');
      expect(problem.errors).toEqual([{ field, message }]);
    });

    it('POST /orders with several bad lines → 400 listing each nested field (lines.N.<field>)', async () => {
      const lines = [validLine({ quantity: '2' }), validLine(), validLine({ unitPrice: 12.5, sku: 'x'.repeat(65) })];
      const problem = await rejectedWithoutWrites(() => app.http().post('/orders').send(validOrder({ lines })), 400, 'VALIDATION_FAILED');
      const fields = fieldsOf(problem);
      expect(fields).toEqual(expect.arrayContaining(['lines.0.quantity', 'lines.2.unitPrice', 'lines.2.sku']));
      expect(fields.some((field) => field.startsWith('lines.1'))).toBe(false);
    });

    it("PUT /users/{id}/email with 'not-an-email' → 400 naming email", async () => {
      const send = () => app.http().put(`/users/${customerId}/email`).send({ email: 'not-an-email' });
      expect(fieldsOf(await rejectedWithoutWrites(send, 400, 'VALIDATION_FAILED'))).toContain('email');
    });

    it('POST /orders/{id}/cancel without a reason → 400 naming reason', async () => {
      const send = () => app.http().post(`/orders/${orderId}/cancel`).send({});
      expect(fieldsOf(await rejectedWithoutWrites(send, 400, 'VALIDATION_FAILED'))).toContain('reason');
    });

    it('POST /orders/{id}/cancel with a reason of 501 characters → 400 naming reason', async () => {
      const send = () => app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'r'.repeat(501) });
      expect(fieldsOf(await rejectedWithoutWrites(send, 400, 'VALIDATION_FAILED'))).toContain('reason');
    });
  });

  describe('strings PostgreSQL cannot store', () => {
    it('POST /users with a NUL character in the name → 400, not a 5xx', async () => {
      await rejectedWithoutWrites(() => app.http().post('/users').send(validUser({ name: 'Ada\u0000Lovelace' })), 400);
    });

    it('POST /users with a lone UTF-16 surrogate in the name → 400, not a 5xx', async () => {
      const raw = `{"email": "s${randomUUID()}@example.com", "name": "Ada \\ud800"}`;
      await rejectedWithoutWrites(() => sendRaw('post', '/users', raw, 'application/json'), 400);
    });

    it('POST /orders with a NUL character in a sku → 400, not a 5xx', async () => {
      const send = () => app.http().post('/orders').send(validOrder({ lines: [validLine({ sku: 'SKU\u0000001' })] }));
      await rejectedWithoutWrites(send, 400);
    });

    it('POST /orders/{id}/cancel with a NUL character in the reason → 400, not a 5xx', async () => {
      const send = () => app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed\u0000my mind' });
      await rejectedWithoutWrites(send, 400);
    });
  });

  describe('prototype pollution attempts', () => {
    it.each([
      {
        name: 'a top-level __proto__ key',
        path: '/users',
        raw: '{"__proto__": {"polluted": "yes"}, "email": "proto@example.com", "name": "Proto"}',
      },
      {
        name: 'a top-level constructor.prototype',
        path: '/users',
        raw: '{"constructor": {"prototype": {"polluted": "yes"}}, "email": "ctor@example.com", "name": "Ctor"}',
      },
      {
        name: '__proto__ inside an order line',
        path: '/orders',
        raw: () => orderWithLine('"sku": "S", "quantity": 1, "unitPrice": 1, "__proto__": {"polluted": "yes"}'),
      },
      {
        name: 'constructor.prototype inside an order line',
        path: '/orders',
        raw: () => orderWithLine('"sku": "S", "quantity": 1, "unitPrice": 1, "constructor": {"prototype": {"polluted": "yes"}}'),
      },
    ])('answers $name on POST $path with 400 and leaves Object.prototype untouched', async ({ path, raw }) => {
      const text = typeof raw === 'function' ? raw() : raw;
      await rejectedWithoutWrites(() => sendRaw('post', path, text, 'application/json'), 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('answers a __proto__ query parameter on GET /orders with 400 and leaves Object.prototype untouched', async () => {
      const response = await app.http().get('/orders?__proto__[polluted]=yes&constructor[prototype][polluted]=yes');
      expectProblem(response, 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('leaves ({}).polluted undefined after every pollution attempt', () => {
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    });
  });

  describe('bodies nested deeper than any request needs', () => {
    const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
    it.each([
      { path: '/users', raw: () => deep(300_000) },
      { path: '/orders', raw: () => `{"customerId":"${randomUUID()}","currency":"EUR","lines":${deep(300_000)}}` },
      { path: '/users', raw: () => `{"email":"deep@example.com","name":"Deep","extra":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}` },
      { path: '/orders', raw: () => `{"customerId":"${randomUUID()}","currency":"EUR","lines":${deep(40)}}` },
    ])('answers POST $path with a body nested too deep with 400, not a stack overflow 500', async ({ path, raw }) => {
      const body = await rejectedWithoutWrites(() => sendRaw('post', path, raw(), 'application/json'), 400, 'VALIDATION_FAILED');
      expect(body.detail).toMatch(/more than 32 levels deep/);
    });
  });

  describe('body size and media type', () => {
    it.each(['/users', '/orders'])('answers a 2 MiB JSON body on POST %s with 413', async (path) => {
      const huge = JSON.stringify({ ...validUser(), name: 'x'.repeat(2 * 1024 * 1024) });
      await rejectedWithoutWrites(() => sendRaw('post', path, huge, 'application/json'), 413);
    });

    it.each([
      { contentType: 'text/plain', raw: '{"email": "plain@example.com", "name": "Plain"}' },
      { contentType: 'application/x-www-form-urlencoded', raw: 'email=form%40example.com&name=Form' },
      { contentType: 'application/xml', raw: '<user><email>xml@example.com</email><name>Xml</name></user>' },
      {
        contentType: 'multipart/form-data; boundary=xyz',
        raw: '--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\nm@example.com\r\n--xyz--\r\n',
      },
    ])('answers POST /users with content-type $contentType with 415', async ({ contentType, raw }) => {
      await rejectedWithoutWrites(() => sendRaw('post', '/users', raw, contentType), 415);
    });
  });

  describe('routes, methods and path ids', () => {
    it.each([
      ['GET', '/nope'],
      ['GET', '/users'],
      ['POST', '/users/extra/segments'],
      ['GET', '/orders/00000000-0000-0000-0000-000000000000/lines'],
    ])('answers the unknown route %s %s with 404', async (method, path) => {
      const response = await app.http()[method.toLowerCase() as 'get' | 'post'](path);
      const body = expectProblem(response, 404);
      expect(body.instance).toBe(path);
    });

    it.each([
      ['delete', '/users/{uuid}'],
      ['patch', '/users/{uuid}'],
      ['delete', '/orders/{uuid}'],
      ['put', '/orders'],
      ['get', '/orders/{uuid}/cancel'],
    ] as const)('answers the wrong method %s on %s with 404 or 405', async (method, template) => {
      const path = template.replace('{uuid}', randomUUID());
      await rejectedWithoutWrites(() => app.http()[method](path), [404, 405]);
    });

    it.each([
      { method: 'get', path: '/users/x', body: undefined },
      { method: 'get', path: '/orders/x', body: undefined },
      { method: 'post', path: '/orders/x/cancel', body: { reason: 'changed my mind' } },
      { method: 'post', path: '/orders/x/ship', body: undefined },
      { method: 'get', path: '/streams/x/events', body: undefined },
      { method: 'put', path: '/users/x/email', body: { email: 'new@example.com' } },
      { method: 'post', path: '/users/x/deactivate', body: undefined },
      { method: 'get', path: `/users/${encodeURIComponent("1' OR '1'='1")}`, body: undefined },
      { method: 'get', path: `/orders/${randomUUID()}x`, body: undefined },
    ] as const)('answers the non-UUID id in $method $path with 400', async ({ method, path, body }) => {
      await rejectedWithoutWrites(() => {
        const test = app.http()[method](path);
        return body ? test.send(body) : test;
      }, 400);
    });

    it.each([
      { method: 'get', template: '/users/{id}', body: undefined, code: 'USER_NOT_FOUND' },
      { method: 'put', template: '/users/{id}/email', body: { email: 'nobody@example.com' }, code: 'USER_NOT_FOUND' },
      { method: 'post', template: '/users/{id}/deactivate', body: undefined, code: 'USER_NOT_FOUND' },
      { method: 'get', template: '/orders/{id}', body: undefined, code: 'ORDER_NOT_FOUND' },
      { method: 'post', template: '/orders/{id}/cancel', body: { reason: 'changed my mind' }, code: 'ORDER_NOT_FOUND' },
      { method: 'post', template: '/orders/{id}/ship', body: undefined, code: 'ORDER_NOT_FOUND' },
      { method: 'get', template: '/streams/{id}/events', body: undefined, code: 'STREAM_NOT_FOUND' },
    ] as const)('answers $method $template for an unknown uuid with 404 $code', async ({ method, template, body, code }) => {
      const path = template.replace('{id}', randomUUID());
      const problem = await rejectedWithoutWrites(
        () => {
          const test = app.http()[method](path);
          return body ? test.send(body) : test;
        },
        404,
        code,
      );
      expect(problem.instance).toBe(path);
    });

    it('answers POST /orders for an unknown customer uuid with 404 CUSTOMER_NOT_FOUND and stores nothing', async () => {
      const send = () => app.http().post('/orders').send(validOrder({ customerId: randomUUID() }));
      await rejectedWithoutWrites(send, 404, 'CUSTOMER_NOT_FOUND');
    });
  });

  describe('GET /orders query parameters', () => {
    const unparsableDateCursor = Buffer.from(JSON.stringify(['1', randomUUID()])).toString('base64url');
    const farFutureCursor = Buffer.from(JSON.stringify(['+275760-09-13T00:00:00.000Z', randomUUID()])).toString('base64url');

    it.each([
      { name: 'limit=0', query: 'limit=0', field: 'limit' },
      { name: 'limit=101', query: 'limit=101', field: 'limit' },
      { name: 'limit=abc', query: 'limit=abc', field: 'limit' },
      { name: 'limit=1.5', query: 'limit=1.5', field: 'limit' },
      { name: 'limit given twice', query: 'limit=1&limit=2', field: 'limit' },
      { name: 'status=NOPE', query: 'status=NOPE', field: 'status' },
      { name: 'customerId=abc', query: 'customerId=abc', field: 'customerId' },
      { name: 'a cursor of 513 characters', query: `cursor=${'c'.repeat(513)}`, field: 'cursor' },
      { name: 'an unknown parameter', query: 'sort=total', field: 'sort' },
      { name: 'an SQL-looking unknown parameter', query: `${encodeURIComponent('1=1;--')}=x`, field: undefined },
    ])('answers $name with 400', async ({ query, field }) => {
      const response = await app.http().get(`/orders?${query}`);
      const body = expectProblem(response, 400);
      expect(body.instance).toBe('/orders');
      if (field) expect(fieldsOf(body)).toContain(field);
    });

    it.each([
      { name: 'cursor=garbage', cursor: 'garbage' },
      { name: 'a cursor of base64 JSON that is not a pair', cursor: Buffer.from('{"a":1}').toString('base64url') },
      { name: 'a cursor whose date JavaScript accepts but PostgreSQL cannot parse', cursor: unparsableDateCursor },
      { name: 'a cursor whose date is beyond the PostgreSQL timestamp range', cursor: farFutureCursor },
    ])('answers $name with 400 INVALID_CURSOR', async ({ cursor }) => {
      const response = await app.http().get('/orders').query({ cursor });
      expectProblem(response, 400, 'INVALID_CURSOR');
    });
  });

  describe('X-Correlation-Id', () => {
    it('echoes a sane X-Correlation-Id (req-123) on a success and on an error', async () => {
      const ok = await app.http().get(`/users/${customerId}`).set('x-correlation-id', 'req-123').expect(200);
      expect(ok.headers['x-correlation-id']).toBe('req-123');
      const error = await app.http().get('/users/x').set('x-correlation-id', 'req-123');
      expect(expectProblem(error, 400).correlationId).toBe('req-123');
    });

    it.each([
      { name: 'a <script> tag', header: '<script>alert(1)</script>' },
      { name: '500 characters', header: 'a'.repeat(500) },
      { name: '129 characters', header: 'b'.repeat(129) },
      { name: 'spaces and quotes', header: `req "123" ; drop table events` },
    ])('replaces an unsafe X-Correlation-Id ($name) with a generated UUID', async ({ header }) => {
      const ok = await app.http().get('/health').set('x-correlation-id', header);
      expect(ok.headers['x-correlation-id']).toMatch(UUID);
      expect(ok.headers['x-correlation-id']).not.toBe(header);
      const error = await app.http().get(`/orders/${randomUUID()}`).set('x-correlation-id', header);
      const body = expectProblem(error, 404, 'ORDER_NOT_FOUND');
      expect(body.correlationId).toMatch(UUID);
      expect(error.text).not.toContain('<script>');
      expect(error.text).not.toContain(header);
    });

    it('puts a generated x-correlation-id on every success response', async () => {
      expect(seedResponse.headers['x-correlation-id']).toMatch(UUID);
      const responses = await Promise.all([
        app.http().get('/health'),
        app.http().get(`/users/${customerId}`),
        app.http().get(`/orders/${orderId}`),
        app.http().get('/orders'),
        app.http().get(`/streams/${orderId}/events`),
      ]);
      for (const response of responses) {
        expect(response.status).toBe(200);
        expect(response.headers['x-correlation-id']).toMatch(UUID);
      }
      const ids = new Set(responses.map((response) => response.headers['x-correlation-id']));
      expect(ids.size).toBe(responses.length);
    });

    it('puts x-correlation-id on every error response, equal to the body correlationId', async () => {
      const responses = await Promise.all([
        app.http().get('/nope'),
        app.http().get('/users/x'),
        app.http().post('/users').set('content-type', 'application/json').send('{'),
        app.http().post('/users').set('content-type', 'text/plain').send('hello'),
        app.http().get('/orders?limit=0'),
        app.http().get(`/streams/${randomUUID()}/events`),
      ]);
      for (const response of responses) {
        const body = expectProblem(response, [400, 404, 415]);
        expect(response.headers['x-correlation-id']).toMatch(UUID);
        expect(body.correlationId).toBe(response.headers['x-correlation-id']);
      }
    });
  });

  it('leaves the events, users and orders row counts unchanged after the whole hostile batch', async () => {
    expect(await countRows()).toEqual(baseline);
  });
});
