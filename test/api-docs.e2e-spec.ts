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

/** Operations that take nothing to validate (no id, query or body): no 400 to document. */
const VALIDATES_NOTHING = new Set([
  'get /admin/subscriptions',
  'post /admin/parked-reactions/retry',
  'post /admin/dead-letters/redrive',
  'post /admin/dead-letters/{messageId}/redrive',
  'get /admin/projections',
]);

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

function operation(method: string, path: string): Json {
  const op = document.paths?.[path]?.[method];
  if (!op) throw new Error(`${method.toUpperCase()} ${path} is not documented`);
  return op as Json;
}

/** The component name a `$ref` schema points to (undefined for an inline schema). */
function schemaName(schema: Json | undefined): string | undefined {
  const ref = schema?.$ref as string | undefined;
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

  it('documents 400 for every operation that validates a path id, query or body', () => {
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
    const commands = ENDPOINTS.filter(([method, path]) => method !== 'get' && !isAdmin(path));
    expect(commands.length).toBe(6);
    for (const [method, path] of commands) {
      const shed = operation(method, path).responses?.['503'] as Json | undefined;
      expect({ method, path, schema: shed?.content?.['application/problem+json']?.schema?.$ref }).toEqual({ method, path, schema: PROBLEM_REF });
      expect(shed?.headers?.['Retry-After']?.schema).toEqual({ type: 'integer', minimum: 1 });
    }
    const reads = ENDPOINTS.filter(([method, path]) => method === 'get' && !isHealth(path) && !isAdmin(path));
    expect(reads.filter(([method, path]) => operation(method, path).responses?.['503'] !== undefined)).toEqual([]);
  });

  it('documents no load shedding on the admin operations, and every one under the admin scope with a summary and an admin tag', () => {
    for (const [method, path] of ENDPOINTS.filter(([, path]) => isAdmin(path))) {
      const op = operation(method, path);
      const shed = op.responses?.['503'] as Json | undefined;
      expect({ method, path, loadShed: String(shed?.description ?? '').startsWith('Load shed') }).toEqual({ method, path, loadShed: false });
      expect({ method, path, scopes: op['x-required-scopes'], summary: typeof op.summary, tagged: (op.tags as string[]).every((tag) => tag.startsWith('admin: ')) }).toEqual({
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
