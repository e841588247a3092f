import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { OpenApiResponseCheck, withResponseCheck } from './support/openapi-response-check';
import { TestApp, startTestApp } from './support/test-app';

/** The Swagger UI and the OpenAPI document the app serves about itself. */

/** A loosely walked node of the OpenAPI document (its shape is what these tests assert). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const APP_ORIGIN = 'http://app.invalid';
const PROBLEM_REF = '#/components/schemas/ProblemDetails';

/** Every endpoint of the API: [method, OpenAPI path]. */
const ENDPOINTS = [
  ['post', '/users'],
  ['get', '/users/{id}'],
  ['put', '/users/{id}/email'],
  ['post', '/users/{id}/deactivate'],
  ['post', '/orders'],
  ['get', '/orders'],
  ['get', '/orders/{id}'],
  ['post', '/orders/{id}/cancel'],
  ['post', '/orders/{id}/ship'],
  ['get', '/streams/{id}/events'],
  ['get', '/flows/{correlationId}'],
  ['get', '/health'],
  ['get', '/health/live'],
  ['get', '/health/ready'],
  ['get', '/admin/subscriptions'],
  ['get', '/admin/subscriptions/{id}'],
  ['post', '/admin/subscriptions/{id}/retry'],
  ['post', '/admin/subscriptions/{id}/skip'],
  ['post', '/admin/subscriptions/{id}/pause'],
  ['post', '/admin/subscriptions/{id}/resume'],
  ['get', '/admin/parked-reactions'],
  ['post', '/admin/parked-reactions/retry'],
  ['post', '/admin/parked-reactions/{reaction}/{eventId}/retry'],
  ['get', '/admin/dead-letters'],
  ['post', '/admin/dead-letters/redrive'],
  ['post', '/admin/dead-letters/{messageId}/redrive'],
  ['get', '/admin/projections'],
  ['post', '/admin/projections/{name}/rebuilds'],
  ['get', '/admin/projections/{name}/rebuilds/{jobId}'],
  ['post', '/admin/streams/{id}/republish'],
] as const;

const isHealth = (path: string) => path === '/health' || path.startsWith('/health/');
/** The operators' endpoints: never load-shed (their 503 is a broker that cannot be reached). */
const isAdmin = (path: string) => path.startsWith('/admin/');

/** Reads that take nothing to validate (no id, no query): no 400 to document. Every command parses a body, so has one. */
const VALIDATES_NOTHING = new Set(['get /admin/subscriptions', 'get /admin/projections']);
const isCommand = (method: string) => ['post', 'put', 'patch', 'delete'].includes(method);
/** The tags of the document, one per feature, in the order Swagger UI shows them. */
const TAGS = [
  'Users',
  'Orders',
  'Audit trail',
  'Flows',
  'Health',
  'Admin: subscriptions',
  'Admin: parked reactions',
  'Admin: dead letters',
  'Admin: projections',
  'Admin: event store',
];

/** The operations that take a JSON body, with the schema that body must reference. */
const BODY_SCHEMAS: Array<[string, string, string]> = [
  ['post', '/users', 'RegisterUserRequest'],
  ['put', '/users/{id}/email', 'ChangeUserEmailRequest'],
  ['post', '/orders', 'PlaceOrderRequest'],
  ['post', '/orders/{id}/cancel', 'CancelOrderRequest'],
  ['post', '/admin/subscriptions/{id}/skip', 'SkipEventRequest'],
  ['post', '/admin/subscriptions/{id}/pause', 'PauseSubscriptionRequest'],
];

/** The operations whose JSON body may be left out, with the schema it must reference when given. */
const OPTIONAL_BODY_SCHEMAS: Array<[string, string, string]> = [['post', '/admin/projections/{name}/rebuilds', 'StartRebuildRequest']];

/** The success response of each operation and the schema its body must reference (null: no body). */
const SUCCESS_RESPONSES: Array<[string, string, string, string | null]> = [
  ['post', '/users', '201', 'CreatedResponse'],
  ['get', '/users/{id}', '200', 'UserResponse'],
  ['put', '/users/{id}/email', '204', null],
  ['post', '/users/{id}/deactivate', '204', null],
  ['post', '/orders', '202', 'PlacedOrderResponse'],
  ['get', '/orders', '200', 'OrderPageResponse'],
  ['get', '/orders/{id}', '200', 'OrderResponse'],
  ['post', '/orders/{id}/cancel', '202', null],
  ['post', '/orders/{id}/ship', '202', null],
  ['get', '/streams/{id}/events', '200', 'StreamResponse'],
  ['get', '/flows/{correlationId}', '200', 'FlowResponse'],
  ['get', '/admin/subscriptions', '200', 'SubscriptionListResponse'],
  ['get', '/admin/subscriptions/{id}', '200', 'SubscriptionStatusResponse'],
  ['post', '/admin/subscriptions/{id}/retry', '202', 'SubscriptionStatusResponse'],
  ['post', '/admin/subscriptions/{id}/skip', '200', 'SkippedEventResponse'],
  ['post', '/admin/subscriptions/{id}/pause', '200', 'SubscriptionStatusResponse'],
  ['post', '/admin/subscriptions/{id}/resume', '200', 'SubscriptionStatusResponse'],
  ['get', '/admin/parked-reactions', '200', 'ParkedReactionListResponse'],
  ['post', '/admin/parked-reactions/retry', '202', 'ParkedRetryResponse'],
  ['post', '/admin/parked-reactions/{reaction}/{eventId}/retry', '202', 'ParkedRetryResponse'],
  ['get', '/admin/dead-letters', '200', 'DeadLetterListResponse'],
  ['post', '/admin/dead-letters/redrive', '200', 'RedriveResponse'],
  ['post', '/admin/dead-letters/{messageId}/redrive', '200', 'RedriveResponse'],
  ['get', '/admin/projections', '200', 'RebuildableProjectionListResponse'],
  ['post', '/admin/projections/{name}/rebuilds', '202', 'RebuildJobResponse'],
  ['get', '/admin/projections/{name}/rebuilds/{jobId}', '200', 'RebuildJobResponse'],
  ['post', '/admin/streams/{id}/republish', '200', 'RepublishResponse'],
];

let app: TestApp;
let docsPage: { status: number; contentType: string; html: string };
let document: Json;

beforeAll(async () => {
  app = await startTestApp();
  const page = await app.http().get('/docs').redirects(3);
  docsPage = { status: page.status, contentType: String(page.headers['content-type'] ?? ''), html: page.text };
  const json = await app.http().get('/docs-json');
  expect(json.status).toBe(200);
  document = JSON.parse(json.text) as Json;
});

afterAll(async () => {
  await app?.close();
});

/** The URLs of the scripts, stylesheets, icons and images a page loads, resolved like a browser would. */
function assetUrlsOf(html: string, pageUrl: string): URL[] {
  const base = /<base\s[^>]*href\s*=\s*["']([^"']+)["']/i.exec(html)?.[1];
  const baseUrl = new URL(base ?? pageUrl, pageUrl);
  const tags = html.match(/<(script|link|img|iframe|source)\b[^>]*>/gi) ?? [];
  return tags
    .map((tag) => /\s(?:src|href)\s*=\s*["']([^"']+)["']/i.exec(tag)?.[1])
    .filter((url): url is string => url !== undefined && !url.startsWith('data:'))
    .map((url) => new URL(url, baseUrl));
}

/** A `$ref` of the document resolved (`#/components/headers/ETag` → that header), anything else as it is. */
function resolved(node: Json | undefined): Json | undefined {
  const ref = node?.$ref as string | undefined;
  if (!ref) return node;
  return ref
    .slice(2)
    .split('/')
    .reduce((parent: Json, key) => parent?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
}

/** [operation name, status, response] of every response of every operation. */
function everyResponse(): Array<[string, string, Json]> {
  return ENDPOINTS.flatMap(([method, path]) =>
    Object.entries(operation(method, path).responses as Json).map(([status, response]) => [`${method} ${path}`, status, response as Json] as [string, string, Json]),
  );
}

function operation(method: string, path: string): Json {
  const op = document.paths?.[path]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  return op as Json;
}

/** The component name a `$ref` schema points to, also through a described `allOf: [$ref]` (undefined for an inline schema). */
function schemaName(schema: Json | undefined): string | undefined {
  const ref = (schema?.$ref ?? (schema?.allOf?.length === 1 ? schema.allOf[0].$ref : undefined)) as string | undefined;
  return ref?.replace('#/components/schemas/', '');
}

describe('GET /docs (Swagger UI)', () => {
  it('serves an HTML page that loads swagger-ui', () => {
    expect(docsPage.status).toBe(200);
    expect(docsPage.contentType).toMatch(/^text\/html/);
    expect(docsPage.html).toContain('swagger-ui');
  });

  it('loads no script, stylesheet or image from an external host', () => {
    const assets = assetUrlsOf(docsPage.html, `${APP_ORIGIN}/docs`);
    expect(assets.length).toBeGreaterThan(0);
    const external = assets.filter((url) => url.origin !== APP_ORIGIN).map(String);
    expect(external).toEqual([]);
    const scriptOrLinkToHost = /<(?:script|link)\b[^>]*\s(?:src|href)\s*=\s*["'](?:https?:)?\/\//i;
    expect(docsPage.html).not.toMatch(scriptOrLinkToHost);
  });

  it('serves every swagger-ui asset the page references itself, with 200', async () => {
    const assets = assetUrlsOf(docsPage.html, `${APP_ORIGIN}/docs`).filter((url) => url.origin === APP_ORIGIN);
    const paths = assets.map((url) => `${url.pathname}${url.search}`);
    expect(paths.some((path) => /swagger-ui-bundle\.js$/.test(path))).toBe(true);
    expect(paths.some((path) => /swagger-ui\.css$/.test(path))).toBe(true);
    for (const path of paths) {
      const response = await app.http().get(path);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      if (path.endsWith('.js')) expect(response.headers['content-type']).toMatch(/javascript/);
      if (path.endsWith('.css')) expect(response.headers['content-type']).toMatch(/^text\/css/);
    }
  });
});

describe('GET /docs-json (OpenAPI document)', () => {
  it('is an OpenAPI 3 JSON document', async () => {
    const response = await app.http().get('/docs-json').expect(200);
    expect(response.headers['content-type']).toMatch(/json/);
    expect(document.openapi).toMatch(/^3\./);
    expect(document.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }));
    expect(document.paths).toEqual(expect.any(Object));
  });

  it.each(ENDPOINTS)('documents %s %s', (method, path) => {
    expect(document.paths?.[path]).toHaveProperty(method);
  });

  it('documents no operation the API does not have', () => {
    const documented = Object.entries(document.paths as Json).flatMap(([path, item]) =>
      Object.keys(item as Json)
        .filter((key) => ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'].includes(key))
        .map((method) => `${method} ${path}`),
    );
    expect(documented.sort()).toEqual(ENDPOINTS.map(([method, path]) => `${method} ${path}`).sort());
  });

  it.each(BODY_SCHEMAS)('gives %s %s a required JSON requestBody referencing %s', (method, path, name) => {
    const body = operation(method, path).requestBody as Json | undefined;
    expect(body).toBeDefined();
    expect(body?.required).toBe(true);
    const schema = body?.content?.['application/json']?.schema as Json | undefined;
    expect(schema).toBeDefined();
    expect(schemaName(schema)).toBe(name);
    expect(document.components?.schemas?.[name]).toBeDefined();
  });

  it.each(OPTIONAL_BODY_SCHEMAS)('gives %s %s an optional JSON requestBody referencing %s', (method, path, name) => {
    const body = operation(method, path).requestBody as Json | undefined;
    expect(body?.required).toBe(false);
    expect(schemaName(body?.content?.['application/json']?.schema as Json | undefined)).toBe(name);
    expect(document.components?.schemas?.[name]).toBeDefined();
  });

  it('declares no requestBody for the operations that take none', () => {
    const withBody = new Set([...BODY_SCHEMAS, ...OPTIONAL_BODY_SCHEMAS].map(([method, path]) => `${method} ${path}`));
    const unexpected = ENDPOINTS.filter(([method, path]) => !withBody.has(`${method} ${path}`))
      .filter(([method, path]) => operation(method, path).requestBody !== undefined)
      .map(([method, path]) => `${method} ${path}`);
    expect(unexpected).toEqual([]);
  });

  it.each(SUCCESS_RESPONSES)('documents the %s %s success response %s with its schema (%s)', (method, path, status, name) => {
    const response = operation(method, path).responses?.[status] as Json | undefined;
    expect(response).toBeDefined();
    expect(response?.description).toEqual(expect.any(String));
    if (name === null) {
      expect(response?.content?.['application/json']?.schema).toBeUndefined();
      return;
    }
    const schema = response?.content?.['application/json']?.schema as Json | undefined;
    expect(schemaName(schema)).toBe(name);
    expect(document.components?.schemas?.[name]).toBeDefined();
  });

  it('documents the schema of the JSON body GET /health returns with 200 (the health check result)', () => {
    const response = operation('get', '/health').responses?.['200'] as Json | undefined;
    expect(response).toBeDefined();
    expect(response?.content?.['application/json']?.schema).toEqual(expect.any(Object));
  });

  it('documents the health check result of GET /health/live (200) and GET /health/ready (200 and 503)', () => {
    for (const [path, statuses] of [['/health/live', ['200']], ['/health/ready', ['200', '503']]] as const) {
      for (const status of statuses) {
        const schema = operation('get', path).responses?.[status]?.content?.['application/json']?.schema as Json | undefined;
        expect({ path, status, schema: schemaName(schema) }).toEqual({ path, status, schema: 'HealthResponse' });
      }
    }
  });

  it.each(ENDPOINTS.filter(([, path]) => !isHealth(path)))(
    'documents at least one 4xx application/problem+json response referencing ProblemDetails for %s %s',
    (method, path) => {
      const responses = operation(method, path).responses as Json;
      const problems = Object.entries(responses).filter(([status]) => /^4\d\d$/.test(status));
      expect(problems.length).toBeGreaterThan(0);
      for (const [status, response] of problems) {
        const content = (response as Json).content as Json | undefined;
        expect({ status, types: Object.keys(content ?? {}) }).toEqual({ status, types: ['application/problem+json'] });
        expect(content?.['application/problem+json']?.schema?.$ref).toBe(PROBLEM_REF);
      }
    },
  );

  it('documents 400 for every operation that validates a path id, query or body, and for every command', () => {
    const missing = ENDPOINTS.filter(([method, path]) => !isHealth(path) && !VALIDATES_NOTHING.has(`${method} ${path}`))
      .filter(([method, path]) => !operation(method, path).responses?.['400'])
      .map(([method, path]) => `${method} ${path}`);
    expect(missing).toEqual([]);
  });

  it('documents the X-Correlation-Id request header on every operation', () => {
    const missing = ENDPOINTS.filter(([method, path]) => {
      const parameters = (operation(method, path).parameters ?? []) as Json[];
      return !parameters.some((parameter) => parameter.in === 'header' && String(parameter.name).toLowerCase() === 'x-correlation-id');
    }).map(([method, path]) => `${method} ${path}`);
    expect(missing).toEqual([]);
  });

  it('documents the load-shedding 503, problem+json with an integer Retry-After, on every command and on no read', () => {
    const shedExample = (method: string, path: string) => operation(method, path).responses?.['503']?.content?.['application/problem+json']?.examples?.LOAD_SHED;
    const commands = ENDPOINTS.filter(([method, path]) => method !== 'get' && !isAdmin(path));
    expect(commands.length).toBe(6);
    for (const [method, path] of commands) {
      const shed = operation(method, path).responses?.['503'] as Json | undefined;
      expect({ method, path, schema: shed?.content?.['application/problem+json']?.schema?.$ref }).toEqual({ method, path, schema: PROBLEM_REF });
      expect(resolved(shed?.headers?.['Retry-After'])?.schema).toEqual({ type: 'integer', minimum: 1 });
      expect({ method, path, example: shedExample(method, path)?.value }).toEqual({ method, path, example: expect.objectContaining({ status: 503, code: 'LOAD_SHED' }) });
    }
    const reads = ENDPOINTS.filter(([method, path]) => method === 'get' && !isHealth(path));
    expect(reads.filter(([method, path]) => shedExample(method, path) !== undefined)).toEqual([]);
  });

  it('documents no load shedding on the admin operations, and every one under the admin scope with a summary and an admin tag', () => {
    for (const [method, path] of ENDPOINTS.filter(([, path]) => isAdmin(path))) {
      const op = operation(method, path);
      const shed = op.responses?.['503']?.content?.['application/problem+json']?.examples?.LOAD_SHED;
      expect({ method, path, loadShed: shed !== undefined }).toEqual({ method, path, loadShed: false });
      expect({ method, path, scopes: op['x-required-scopes'], summary: typeof op.summary, tagged: (op.tags as string[]).every((tag) => tag.startsWith('Admin: ')) }).toEqual({
        method,
        path,
        scopes: ['admin'],
        summary: 'string',
        tagged: true,
      });
    }
  });

  it.each([
    ['post', '/orders/{id}/cancel', '202'],
    ['post', '/orders/{id}/ship', '202'],
    ['put', '/users/{id}/email', '204'],
    ['post', '/users/{id}/deactivate', '204'],
  ])('documents the optional If-Match header, 412 and the ETag of %s %s', (method, path, status) => {
    const op = operation(method, path);
    const ifMatch = ((op.parameters ?? []) as Json[]).find((parameter) => parameter.in === 'header' && parameter.name === 'If-Match');
    expect(ifMatch).toMatchObject({ required: false, schema: { type: 'string' } });
    expect(op.responses?.['412']?.content?.['application/problem+json']?.schema?.$ref).toBe(PROBLEM_REF);
    expect(op.responses?.[status]?.headers?.ETag).toBeDefined();
    expect(op.responses?.['400']?.content?.['application/problem+json']?.examples?.INVALID_IF_MATCH?.value?.code).toBe('INVALID_IF_MATCH');
    expect(op.responses?.['412']?.content?.['application/problem+json']?.examples?.VERSION_MISMATCH?.value?.code).toBe('VERSION_MISMATCH');
  });

  it.each([
    ['post', '/users', '201'],
    ['post', '/orders', '202'],
    ['get', '/users/{id}', '200'],
    ['get', '/orders/{id}', '200'],
  ])('documents the ETag response header of %s %s', (method, path, status) => {
    expect(operation(method, path).responses?.[status]?.headers?.ETag).toEqual(expect.objectContaining({ description: expect.any(String) }));
  });

  it.each(['ProblemDetails', 'RegisterUserRequest', 'PlaceOrderRequest', 'OrderLineRequest', 'OrderResponse', 'UserResponse'])(
    'has the %s schema in components',
    (name) => {
      const schema = document.components?.schemas?.[name] as Json | undefined;
      expect(schema).toEqual(expect.objectContaining({ type: 'object', properties: expect.any(Object) }));
    },
  );

  it('describes ProblemDetails with the RFC 9457 fields plus code and correlationId, and optional field errors', () => {
    const schema = document.components.schemas.ProblemDetails as Json;
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'instance', 'code', 'correlationId', 'errors']),
    );
    expect(schema.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'instance', 'code', 'correlationId']));
    expect(schema.required).not.toContain('detail');
    expect(schema.required).not.toContain('errors');
    expect(schema.properties.errors).toEqual(
      expect.objectContaining({ type: 'array', items: expect.objectContaining({ $ref: '#/components/schemas/FieldError' }) }),
    );
  });

  it('describes PlaceOrderRequest.lines as an array of OrderLineRequest with the 1..100 bounds', () => {
    const lines = (document.components.schemas.PlaceOrderRequest as Json).properties.lines as Json;
    expect(lines).toEqual(
      expect.objectContaining({
        type: 'array',
        minItems: 1,
        maxItems: 100,
        items: expect.objectContaining({ $ref: '#/components/schemas/OrderLineRequest' }),
      }),
    );
    const line = document.components.schemas.OrderLineRequest as Json;
    expect(line.required).toEqual(expect.arrayContaining(['sku', 'quantity', 'unitPrice']));
  });

  it('marks email and name required and creditLimit optional in RegisterUserRequest', () => {
    const schema = document.components.schemas.RegisterUserRequest as Json;
    expect(schema.required).toEqual(expect.arrayContaining(['email', 'name']));
    expect(schema.required).not.toContain('creditLimit');
    expect(Object.keys(schema.properties).sort()).toEqual(['creditLimit', 'email', 'name']);
  });
});

describe('GET /docs-json: what a client generator needs', () => {
  it('gives every operation a summary, a unique operationId and one tag of a feature, the tags listed in order', () => {
    expect((document.tags as Json[]).map((tag) => tag.name)).toEqual(TAGS);
    expect((document.tags as Json[]).every((tag) => typeof tag.description === 'string')).toBe(true);
    const named = ENDPOINTS.map(([method, path]) => {
      const op = operation(method, path);
      return { name: `${method} ${path}`, summary: typeof op.summary, operationId: op.operationId, tags: op.tags };
    });
    for (const { name, summary, operationId, tags } of named) {
      expect({ name, summary, operationId, tags }).toEqual({ name, summary: 'string', operationId: expect.stringMatching(/^[a-z][A-Za-z]+$/), tags: [expect.any(String)] });
      expect(TAGS).toContain(tags[0]);
    }
    expect(new Set(named.map(({ operationId }) => operationId)).size).toBe(named.length);
  });

  it('declares the bearer scheme once, requires it with x-required-scopes on every operation but the health checks, which need nothing', () => {
    expect(Object.keys(document.components.securitySchemes)).toEqual(['bearer']);
    expect(document.security).toBeUndefined();
    for (const [method, path] of ENDPOINTS) {
      const op = operation(method, path);
      const expected = isHealth(path) ? { security: [{}], scopes: undefined } : { security: [{ bearer: [] }], scopes: [expect.any(String)] };
      expect({ method, path, security: op.security, scopes: op['x-required-scopes'] }).toEqual({ method, path, ...expected });
    }
  });

  it('names the server relative to where the document is served, and the license', () => {
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(document.info.license).toEqual({ name: 'MIT', url: expect.stringMatching(/^https:\/\//) });
  });
});

describe('GET /docs-json: every response status with its own examples', () => {
  it('gives every problem response examples of its own status, each valid against the operation as a response to its instance', () => {
    const wrong: string[] = [];
    for (const [method, path] of ENDPOINTS) {
      for (const [status, response] of Object.entries(operation(method, path).responses as Json)) {
        const media = (response as Json).content?.['application/problem+json'];
        if (!media) continue;
        const examples = Object.entries((media.examples ?? {}) as Json);
        if (examples.length === 0) wrong.push(`${method} ${path} ${status}: no example`);
        for (const [name, example] of examples) {
          const value = (example as Json).value as Json;
          const asResponse = { status: Number(status), headers: { 'content-type': 'application/problem+json', 'x-correlation-id': value.correlationId }, text: JSON.stringify(value) };
          const problems = [
            ...(value.status === Number(status) ? [] : [`status ${value.status}`]),
            ...(typeof (example as Json).summary === 'string' ? [] : ['no summary']),
            ...app.responseCheck.problemsWith(method, value.instance, asResponse),
          ];
          if (problems.length > 0) wrong.push(`${method} ${path} ${status} ${name}: ${problems.join('; ')}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it("shows a 400, 404 and 413 their own problem, and the 409 'order not shippable' only where an order is shipped", () => {
    const examplesOf = (method: string, path: string, status: string) =>
      Object.values((operation(method, path).responses[status]?.content?.['application/problem+json']?.examples ?? {}) as Json).map((example) => (example as Json).value.code);
    expect(examplesOf('post', '/orders', '400')).toEqual(expect.arrayContaining(['VALIDATION_FAILED', 'BAD_REQUEST']));
    expect(examplesOf('get', '/orders/{id}', '404')).toEqual(['ORDER_NOT_FOUND']);
    expect(examplesOf('get', '/users/{id}', '404')).toEqual(['USER_NOT_FOUND']);
    expect(examplesOf('post', '/orders', '404')).toEqual(['CUSTOMER_NOT_FOUND']);
    expect(examplesOf('post', '/orders', '413')).toEqual(['CONTENT_TOO_LARGE']);
    expect(examplesOf('post', '/orders/{id}/ship', '409')).toContain('ORDER_NOT_SHIPPABLE');
    const shippable = ENDPOINTS.filter(([method, path]) => Object.keys(operation(method, path).responses).some((status) => examplesOf(method, path, status).includes('ORDER_NOT_SHIPPABLE')));
    expect(shippable).toEqual([['post', '/orders/{id}/ship']]);
  });

  it('documents on every command the Idempotency-Key header, Idempotent-Replayed on its successes, and 400 malformed JSON, 413, 415 and 422', () => {
    for (const [method, path] of ENDPOINTS.filter(([method]) => isCommand(method))) {
      const op = operation(method, path);
      const codes = (status: string) => Object.keys(op.responses[status]?.content?.['application/problem+json']?.examples ?? {});
      const key = ((op.parameters ?? []) as Json[]).filter((parameter) => parameter.in === 'header' && parameter.name === 'Idempotency-Key');
      const successes = Object.entries(op.responses as Json).filter(([status]) => status.startsWith('2'));
      expect({
        method,
        path,
        key: key.map((parameter) => parameter.required),
        replayed: successes.map(([status, response]) => [status, resolved((response as Json).headers?.['Idempotent-Replayed'])?.schema]),
        400: codes('400'),
        413: codes('413'),
        415: codes('415'),
        422: codes('422'),
      }).toEqual({
        method,
        path,
        key: [false],
        replayed: successes.map(([status]) => [status, { type: 'string', enum: ['true'] }]),
        400: expect.arrayContaining(['MALFORMED_JSON', 'INVALID_IDEMPOTENCY_KEY']),
        413: ['CONTENT_TOO_LARGE'],
        415: ['UNSUPPORTED_MEDIA_TYPE'],
        422: ['IDEMPOTENCY_KEY_REUSED'],
      });
    }
    const reads = ENDPOINTS.filter(([method]) => !isCommand(method));
    expect(reads.filter(([method, path]) => operation(method, path).responses['422'] || operation(method, path).responses['415'])).toEqual([]);
  });

  it('documents on every operation behind the bearer scheme 401 and 403 with WWW-Authenticate, 429 with Retry-After, and the 503 of an unreachable key set', () => {
    for (const [method, path] of ENDPOINTS.filter(([, path]) => !isHealth(path))) {
      const responses = operation(method, path).responses as Json;
      const header = (status: string, name: string) => resolved(responses[status]?.headers?.[name])?.schema?.type;
      const codes = (status: string) => Object.keys(responses[status]?.content?.['application/problem+json']?.examples ?? {});
      expect({ method, path, 401: codes('401'), 403: codes('403'), 429: codes('429'), 503: codes('503') }).toEqual({
        method,
        path,
        401: ['TOKEN_MISSING', 'TOKEN_EXPIRED', 'TOKEN_INVALID'],
        403: ['INSUFFICIENT_SCOPE'],
        429: ['TOO_MANY_REQUESTS'],
        503: expect.arrayContaining(['AUTHENTICATION_UNAVAILABLE']),
      });
      expect({ method, path, challenge: [header('401', 'WWW-Authenticate'), header('403', 'WWW-Authenticate')], retryAfter: header('429', 'Retry-After') }).toEqual({
        method,
        path,
        challenge: ['string', 'string'],
        retryAfter: 'integer',
      });
    }
  });

  it('declares X-Correlation-Id on every response, and every header reference resolves', () => {
    const wrong = everyResponse()
      .filter(([, , response]) => resolved(response.headers?.['X-Correlation-Id'])?.schema?.type !== 'string')
      .map(([name, status]) => `${name} ${status}`);
    expect(wrong).toEqual([]);
    const unresolved = everyResponse().flatMap(([name, status, response]) =>
      Object.entries((response.headers ?? {}) as Json)
        .filter(([, header]) => resolved(header as Json)?.schema === undefined)
        .map(([header]) => `${name} ${status} ${header}`),
    );
    expect(unresolved).toEqual([]);
  });

  it.each([
    ['post', '/users', '201'],
    ['post', '/orders', '202'],
    ['post', '/admin/projections/{name}/rebuilds', '202'],
  ])('declares the Location header of %s %s (%s)', (method, path, status) => {
    expect(operation(method, path).responses[status].headers.Location).toEqual(expect.objectContaining({ schema: expect.objectContaining({ type: 'string' }) }));
  });

  it('gives the health responses examples valid against their schema, without a property it does not declare', () => {
    for (const path of ['/health', '/health/live', '/health/ready']) {
      for (const [status, response] of Object.entries(operation('get', path).responses as Json)) {
        const example = (response as Json).content['application/json'].example;
        const asResponse = { status: Number(status), headers: { 'content-type': 'application/json' }, text: JSON.stringify(example) };
        expect({ path, status, problems: app.responseCheck.problemsWith('get', path, asResponse) }).toEqual({ path, status, problems: [] });
      }
    }
  });

  it('documents the 503 of GET /health/live: a process shutting down', () => {
    const shuttingDown = operation('get', '/health/live').responses['503']?.content?.['application/json'];
    expect(schemaName(shuttingDown?.schema)).toBe('HealthResponse');
    expect(shuttingDown?.example?.status).toBe('shutting_down');
  });
});

describe('GET /docs-json: integers where the server wants integers', () => {
  it.each([
    ['OrderLineRequest', 'quantity'],
    ['OrderLineRequest', 'unitPrice'],
    ['RegisterUserRequest', 'creditLimit'],
    ['StartRebuildRequest', 'batchSize'],
    ['ProblemDetails', 'status'],
    ['OrderLineResponse', 'quantity'],
    ['OrderLineResponse', 'unitPrice'],
    ['OrderResponse', 'total'],
    ['OrderResponse', 'version'],
    ['UserResponse', 'creditLimit'],
    ['UserResponse', 'creditReserved'],
    ['UserResponse', 'version'],
    ['StreamResponse', 'version'],
    ['StreamEventResponse', 'streamVersion'],
    ['StreamEventResponse', 'schemaVersion'],
  ])('types %s.%s as an integer', (schema, property) => {
    expect(document.components.schemas[schema].properties[property].type).toBe('integer');
  });

  it.each([
    ['get', '/orders'],
    ['get', '/admin/parked-reactions'],
    ['get', '/admin/dead-letters'],
  ])('types the limit query parameter of %s %s as an integer', (method, path) => {
    const limit = ((operation(method, path).parameters ?? []) as Json[]).find((parameter) => parameter.in === 'query' && parameter.name === 'limit');
    expect(limit?.schema?.type).toBe('integer');
  });

  it('refuses, by the schema alone, a quantity, a unit price or a credit limit of 1.5, as the server does', () => {
    const order = (line: Json) => ({ customerId: randomUUID(), currency: 'EUR', lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250, ...line }] });
    expect(app.responseCheck.problemsWithValue('PlaceOrderRequest', order({}))).toEqual([]);
    expect(app.responseCheck.problemsWithValue('PlaceOrderRequest', order({ quantity: 1.5 })).join()).toMatch(/\/lines\/0\/quantity must be integer/);
    expect(app.responseCheck.problemsWithValue('PlaceOrderRequest', order({ unitPrice: 12.5 })).join()).toMatch(/\/lines\/0\/unitPrice must be integer/);
    expect(app.responseCheck.problemsWithValue('RegisterUserRequest', { email: 'ada@example.com', name: 'Ada', creditLimit: 1.5 }).join()).toMatch(/\/creditLimit must be integer/);
  });
});

describe('GET /docs-json: the health check result', () => {
  it('describes terminus’ result: a status of four, the indicators under info, error and details, each with its own figures', () => {
    const health = document.components.schemas.HealthResponse as Json;
    expect(health.properties.status.enum).toEqual(['ok', 'degraded', 'error', 'shutting_down']);
    expect(health.required).toEqual(['status', 'details']);
    for (const key of ['info', 'error', 'details']) expect(schemaName(health.properties[key])).toBe('HealthIndicators');
    const indicators = document.components.schemas.HealthIndicators.properties as Json;
    expect(Object.fromEntries(Object.entries(indicators).map(([name, schema]) => [name, schemaName(schema as Json)]))).toEqual({
      postgres: 'PostgresHealth',
      rabbitmq: 'RabbitmqHealth',
      relay: 'RelayHealth',
      deadLetters: 'DeadLettersHealth',
      reactions: 'ReactionsHealth',
      subscriptions: 'SubscriptionsHealth',
    });
  });

  it('matches what GET /health, /health/live and /health/ready answer (the response check validates each body)', async () => {
    const health = await app.http({ token: null }).get('/health');
    expect(health.body.details).toEqual(expect.objectContaining({ postgres: expect.objectContaining({ status: 'up' }), subscriptions: expect.any(Object) }));
    await app.http({ token: null }).get('/health/live').expect(200);
    await app.http({ token: null }).get('/health/ready').expect(200);
  });
});

describe('the response check every app.http() request runs (test/support/openapi-response-check.ts)', () => {
  /** A check built from this app's document changed by `change`, on an agent of its own (no token). */
  function checkedAgentOf(change: (copy: Json) => void) {
    const copy = structuredClone(document);
    change(copy);
    return withResponseCheck(request.agent(app.app.getHttpServer()), new OpenApiResponseCheck(copy));
  }

  it('fails a request answered with a status its operation does not declare', async () => {
    const agent = checkedAgentOf((copy) => delete copy.paths['/users/{id}'].get.responses['401']);
    await expect(agent.get(`/users/${randomUUID()}`)).rejects.toThrow(/GET \/users\/.* \(operation getUser \(GET \/users\/\{id\}\)\), 401[\s\S]*status 401 is not declared/);
  });

  it('fails a body without a property the schema requires, naming it', async () => {
    const agent = checkedAgentOf((copy) => copy.components.schemas.ProblemDetails.required.push('errors'));
    await expect(agent.get(`/users/${randomUUID()}`)).rejects.toThrow(/must have required property 'errors'/);
  });

  it('fails a body with a property the schema does not declare', async () => {
    const agent = checkedAgentOf((copy) => {
      const problem = copy.components.schemas.ProblemDetails;
      delete problem.properties.correlationId;
      problem.required = problem.required.filter((name: string) => name !== 'correlationId');
    });
    await expect(agent.get(`/users/${randomUUID()}`)).rejects.toThrow(/has correlationId, which the schema does not declare/);
  });

  it('fails a header the response sets and the document does not declare', async () => {
    const agent = checkedAgentOf((copy) => delete copy.paths['/users/{id}'].get.responses['401'].headers['WWW-Authenticate']);
    await expect(agent.get(`/users/${randomUUID()}`)).rejects.toThrow(/header www-authenticate is set but not declared/);
  });

  it('fails a content type the response does not declare', async () => {
    const agent = checkedAgentOf((copy) => {
      const unauthorized = copy.paths['/users/{id}'].get.responses['401'];
      unauthorized.content = { 'application/json': unauthorized.content['application/problem+json'] };
    });
    await expect(agent.get(`/users/${randomUUID()}`)).rejects.toThrow(/content type application\/problem\+json is not declared/);
  });

  it('holds a request no operation matches to the problem schema, and a success from an unknown route fails', async () => {
    await app.http().get('/no/such/route').expect(404);
    await app.http().delete(`/users/${randomUUID()}`).expect(404);
    const html = { status: 404, headers: { 'content-type': 'text/html' }, text: '<h1>Not Found</h1>' };
    expect(app.responseCheck.problemsWith('get', '/no/such/route', html)).toEqual(['content type text/html, expected application/problem+json for an error']);
    const ok = { status: 200, headers: { 'content-type': 'application/json' }, text: '{}' };
    expect(app.responseCheck.problemsWith('get', '/no/such/route', ok)).toEqual(['200 from a route the document does not have']);
  });
});

describe('redocly lint of GET /docs-json (recommended rules, redocly.yaml)', () => {
  it('finds no error, and warnings only of the rules redocly.yaml sets to warn with its reason', async () => {
    const config = await readFile(join(__dirname, '..', 'redocly.yaml'), 'utf8');
    const explained = new Set([...config.matchAll(/^\s+([a-z0-9-]+):\s*warn\b/gm)].map(([, rule]) => rule));
    const problems = await redoclyLint(document);
    const listing = problems.map((problem) => `${problem.severity} ${problem.ruleId} at ${problem.location?.[0]?.pointer}: ${problem.message}`);
    expect(listing.filter((line) => line.startsWith('error'))).toEqual([]);
    expect(problems.filter((problem) => problem.severity === 'warn' && !explained.has(problem.ruleId)).map((problem) => listing[problems.indexOf(problem)])).toEqual([]);
    // The one reason given there: the health checks have no 4xx.
    const noFourXx = problems.filter((problem) => problem.ruleId === 'operation-4xx-response').map((problem) => problem.location?.[0]?.pointer);
    expect(noFourXx.sort()).toEqual(['#/paths/~1health/get/responses', '#/paths/~1health~1live/get/responses', '#/paths/~1health~1ready/get/responses']);
  });
});

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location?: Array<{ pointer?: string }>;
}

/** Runs `redocly lint` (the CLI in node_modules, with redocly.yaml) on `openApi`; its problems. */
async function redoclyLint(openApi: Json): Promise<LintProblem[]> {
  const root = join(__dirname, '..');
  const directory = await mkdtemp(join(tmpdir(), 'openapi-lint-'));
  try {
    const file = join(directory, 'openapi.json');
    await writeFile(file, JSON.stringify(openApi));
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [join(root, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--config', join(root, 'redocly.yaml'), '--format=json'],
        // No usage data sent, no update notice fetched.
        { cwd: root, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' }, maxBuffer: 64 * 1024 * 1024 },
        // Exit code 1 when it found errors: the JSON on stdout says which.
        (error, out, stderr) => (out.trim().startsWith('{') ? resolve(out) : reject(new Error(`redocly lint failed: ${error?.message ?? ''}\n${stderr}`))),
      ),
    );
    return (JSON.parse(stdout) as { problems: LintProblem[] }).problems;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
