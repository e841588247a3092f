import { spawn as spawnProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { Response } from 'supertest';
import { SCOPES } from '../src/auth/scopes';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import { ConsumerProcess } from './support/consumer-process';
import { exitOf, exitOnItsOwn } from './support/exit-status';
import { countRows, placeOrder, registerUser, twoLines, uniqueEmail } from './support/fixtures';
import { StartScript } from './support/start-script';
import { TEST_AUTH, testToken } from './support/test-auth';
import { startTestApp, type TestApp } from './support/test-app';
import { deleteTopology, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase } from './support/test-database';

/** Bearer tokens (RFC 6750) and scopes on every endpoint of both apps; development mode; refusal to start without any. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions walk arbitrary JSON
type Json = Record<string, any>;

/** Unsets every authentication variable for a child process (its environment would otherwise inherit the shell's). */
const NO_AUTH = { AUTH_MODE: undefined, AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: undefined, AUTH_ISSUER: undefined, AUTH_AUDIENCE: undefined };

function expectProblem(response: Response, status: number, code: string): void {
  expect({ status: response.status, contentType: response.headers['content-type'], code: response.body.code }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/problem\+json/),
    code,
  });
}

describe('the API with a shared secret (HS256)', () => {
  let app: TestApp;
  let userId: string;
  let orderId: string;

  beforeAll(async () => {
    app = await startTestApp();
    userId = await registerUser(app, { creditLimit: 1_000_000 });
    orderId = await placeOrder(app, userId);
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Every protected endpoint, the one scope it needs, and a request that gets past the guard with it. */
  const ENDPOINTS: Array<[method: 'get' | 'post' | 'put', path: () => string, scope: string, body: () => object | undefined, success: number]> = [
    ['post', () => '/users', 'users:write', () => ({ email: uniqueEmail(), name: 'Grace' }), 201],
    ['get', () => `/users/${userId}`, 'users:read', () => undefined, 200],
    ['put', () => `/users/${userId}/email`, 'users:write', () => ({ email: uniqueEmail() }), 204],
    ['post', () => '/orders', 'orders:write', () => ({ customerId: userId, currency: 'EUR', lines: twoLines }), 202],
    ['get', () => '/orders', 'orders:read', () => undefined, 200],
    ['get', () => `/orders/${orderId}`, 'orders:read', () => undefined, 200],
    ['get', () => `/streams/${orderId}/events`, 'admin', () => undefined, 200],
    ['get', () => '/admin/subscriptions', 'admin', () => undefined, 200],
    ['get', () => '/admin/parked-reactions', 'admin', () => undefined, 200],
    ['get', () => '/admin/dead-letters', 'admin', () => undefined, 200],
    ['get', () => '/admin/projections', 'admin', () => undefined, 200],
    ['post', () => `/orders/${orderId}/cancel`, 'orders:write', () => ({ reason: 'scoped' }), 202],
    // Past the guard, the command meets the cancelled order: the 409 of the handler.
    ['post', () => `/orders/${orderId}/ship`, 'orders:write', () => undefined, 409],
    ['post', () => `/users/${userId}/deactivate`, 'users:write', () => undefined, 204],
  ];

  const send = (method: 'get' | 'post' | 'put', path: string, body: object | undefined, token: string | null) => {
    const request = app.http({ token })[method](path);
    return body === undefined ? request : request.send(body);
  };

  it.each(ENDPOINTS)('refuses %s %s without a token: 401 problem+json with a bare Bearer challenge', async (method, path, _scope, body) => {
    const response = await send(method, path(), body(), null);
    expectProblem(response, 401, 'TOKEN_MISSING');
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.body.correlationId).toEqual(expect.any(String));
  });

  it.each(ENDPOINTS)('answers %s %s to a token with only the scope it needs (%s)', async (method, path, scope, body, success) => {
    const response = await send(method, path(), body(), await testToken({ scopes: [scope] }));
    expect(response.status).toBe(success);
  });

  it.each(ENDPOINTS)('refuses %s %s with 403 to a token with every scope but %s', async (method, path, scope, body) => {
    const response = await send(method, path(), body(), await testToken({ scopes: SCOPES.filter((other) => other !== scope) }));
    expectProblem(response, 403, 'INSUFFICIENT_SCOPE');
    expect(response.headers['www-authenticate']).toMatch(new RegExp(`^Bearer error="insufficient_scope", .*scope="${scope}"`));
    expect(response.body.detail).toContain(scope);
  });

  // Users and keys only: the saga of the orders above may still be appending events of its own.
  it('writes nothing for a command it refuses: no user, no idempotency key', async () => {
    const before = await Promise.all(['users', 'idempotency_keys'].map((table) => countRows(app, table)));
    const body = { email: uniqueEmail(), name: 'Refused' };
    await app.http({ token: null }).post('/users').set('Idempotency-Key', randomUUID()).send(body).expect(401);
    await app.http({ token: await testToken({ scopes: ['users:read'] }) }).post('/users').set('Idempotency-Key', randomUUID()).send(body).expect(403);
    expect(await Promise.all(['users', 'idempotency_keys'].map((table) => countRows(app, table)))).toEqual(before);
  });

  it.each([
    ['signed with another secret', () => testToken({ secret: 'another-secret-of-the-same-length-0123456789' }), 'TOKEN_INVALID', /signature/],
    ['for another audience', () => testToken({ audience: 'billing-api' }), 'TOKEN_INVALID', /aud claim/],
    ['from another issuer', () => testToken({ issuer: 'https://evil.test' }), 'TOKEN_INVALID', /iss claim/],
    ['that expired a minute ago', () => testToken({ expiresInSeconds: -60 }), 'TOKEN_EXPIRED', /expired/],
    ['that is no JWT', async () => 'not-a-jwt', 'TOKEN_INVALID', /malformed/],
  ])('refuses a token %s: 401 with an invalid_token challenge', async (_name, token, code, description) => {
    const response = await app.http({ token: await token() }).get('/orders');
    expectProblem(response, 401, code);
    const challenge = String(response.headers['www-authenticate']);
    expect(challenge).toMatch(/^Bearer error="invalid_token", error_description="/);
    expect(challenge).toMatch(description);
  });

  it('accepts the scopes of an `scp` array as well as of a `scope` string', async () => {
    const token = await new SignJWT({ scp: ['orders:read'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(TEST_AUTH.issuer)
      .setAudience(TEST_AUTH.audience)
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(TEST_AUTH.secret));
    await app.http({ token }).get('/orders').expect(200);
  });

  it('leaves the health check, Swagger UI and the OpenAPI document open', async () => {
    expect([200, 503]).toContain((await app.http({ token: null }).get('/health')).status);
    await app.http({ token: null }).get('/docs').redirects(3).expect(200);
    await app.http({ token: null }).get('/docs-json').expect(200);
  });

  describe('the OpenAPI document', () => {
    let document: Json;
    beforeAll(async () => {
      document = (await app.http({ token: null }).get('/docs-json').expect(200)).body;
    });

    it('declares the bearer security scheme that Authorize fills in', () => {
      expect(document.components.securitySchemes).toEqual({ bearer: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }) });
    });

    it('declares the bearer requirement, the required scopes and the 401 / 403 / 429 problems of every operation but the open ones', () => {
      const operations = Object.entries(document.paths as Json).flatMap(([path, item]) =>
        Object.entries(item as Json).map(([method, operation]) => ({ name: `${method} ${path}`, path, operation: operation as Json })),
      );
      const expectedScopes: Record<string, string[]> = Object.fromEntries(
        ENDPOINTS.map(([method, pathOf, scope]) => [`${method} ${pathOf().replace(userId, '{id}').replace(orderId, '{id}')}`, [scope]]),
      );
      expect(operations.map(({ name }) => name)).toEqual(expect.arrayContaining(Object.keys(expectedScopes)));
      for (const { name, path, operation } of operations) {
        if (path.startsWith('/health') || path === '/metrics') {
          // The empty requirement: no credentials needed.
          expect({ name, security: operation.security }).toEqual({ name, security: [{}] });
          continue;
        }
        const scopes = operation['x-required-scopes'] as string[] | undefined;
        // Operations added later (not in ENDPOINTS) must still name known scopes.
        const known = (scopes ?? []).length > 0 && (scopes ?? []).every((scope) => (SCOPES as readonly string[]).includes(scope));
        expect({ name, security: operation.security, known, scopes: expectedScopes[name] ? scopes : 'any known' }).toEqual({
          name,
          security: [{ bearer: [] }],
          known: true,
          scopes: expectedScopes[name] ?? 'any known',
        });
        for (const status of ['401', '403', '429', '503']) {
          expect({ name, status, schema: operation.responses[status]?.content?.['application/problem+json']?.schema?.$ref }).toEqual({
            name,
            status,
            schema: '#/components/schemas/ProblemDetails',
          });
        }
        expect(operation.responses['403'].description).toContain(operation['x-required-scopes'][0]);
      }
    });
  });
});

/** A JSON Web Key Set at http://127.0.0.1:<port>/jwks.json, as an identity provider publishes it; `available` false answers 503. */
async function startJwksServer(jwks: { keys: object[] }): Promise<{ url: string; available: boolean; fetches: number; close(): Promise<void> }> {
  const state = { available: true, fetches: 0 };
  const server: Server = createServer((request, response) => {
    state.fetches++;
    if (!state.available || request.url !== '/jwks.json') {
      response.writeHead(state.available ? 404 : 503).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks.json`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe("the API verifying tokens with the issuer's JWKS (ES256)", () => {
  const issuer = 'https://id.test';
  const audience = 'orders-api';
  let app: TestApp;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let signingKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    signingKey = pair.privateKey;
    jwks = await startJwksServer({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' }] });
    jwks.available = false;
    app = await startTestApp({ env: { AUTH_JWT_SECRET: undefined, AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience } });
  });
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  const sign = (key: CryptoKey, claims: { scope?: string; audience?: string } = {}) =>
    new SignJWT({ scope: claims.scope ?? 'orders:read' })
      .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
      .setSubject('client-7')
      .setIssuer(issuer)
      .setAudience(claims.audience ?? audience)
      .setExpirationTime('5m')
      .sign(key);

  it('answers 503 while the key set cannot be fetched (no fault of the token), then verifies once it can', async () => {
    const token = await sign(signingKey);
    const unavailable = await app.http({ token }).get('/orders');
    expectProblem(unavailable, 503, 'AUTHENTICATION_UNAVAILABLE');
    expect(jwks.fetches).toBeGreaterThan(0);
    jwks.available = true;
    await app.http({ token }).get('/orders').expect(200);
  });

  it('accepts a token signed with a key of the set, and refuses one signed with another key under the same kid', async () => {
    await app.http({ token: await sign(signingKey) }).get('/orders').expect(200);
    const impostor = (await generateKeyPair('ES256')).privateKey;
    const refused = await app.http({ token: await sign(impostor) }).get('/orders');
    expectProblem(refused, 401, 'TOKEN_INVALID');
  });

  it('refuses a token for another audience of the same issuer, and an HS256 token', async () => {
    expectProblem(await app.http({ token: await sign(signingKey, { audience: 'billing-api' }) }).get('/orders'), 401, 'TOKEN_INVALID');
    expectProblem(await app.http({ token: await testToken({ issuer, audience }) }).get('/orders'), 401, 'TOKEN_INVALID');
  });

  it('checks scopes as with a shared secret', async () => {
    const response = await app.http({ token: await sign(signingKey, { scope: 'orders:read' }) }).post('/orders').send({});
    expectProblem(response, 403, 'INSUFFICIENT_SCOPE');
  });

  it('logs why the key set cannot be fetched (a built API, its log read), once for a run of refused requests', async () => {
    const databaseUrl = await createTestDatabase();
    const brokerPrefix = uniqueBrokerPrefix();
    jwks.available = false;
    const api = await ApiProcess.start({
      DATABASE_URL: databaseUrl,
      BROKER_PREFIX: brokerPrefix,
      LOG_LEVEL: 'warn',
      AUTH_JWT_SECRET: undefined,
      AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: issuer,
      AUTH_AUDIENCE: audience,
    });
    try {
      const token = await sign(signingKey);
      for (let i = 0; i < 3; i++) expect((await fetch(`${api.url}/orders`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(503);
      expect(await api.kill('SIGTERM')).toEqual({ code: 0, signal: null });
      const warnings = api.stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Json)
        .filter((line) => line.context === 'Authentication');
      expect(warnings).toEqual([
        expect.objectContaining({ level: 'warn', msg: expect.stringMatching(new RegExp(`^cannot fetch the token issuer's key set from ${jwks.url.replace(/\./g, '\\.')}: .*200`)) }),
      ]);
    } finally {
      jwks.available = true;
      api.signal('SIGKILL');
      await dropDatabase(databaseUrl);
      await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
    }
  }, 30_000);
});

describe("the consumer's HTTP side", () => {
  const prefix = uniqueBrokerPrefix();
  let consumer: ConsumerProcess;

  beforeAll(async () => {
    // Its own interface setting: HOST (the API's) names another address, which the consumer must not take.
    consumer = await ConsumerProcess.start(prefix, { CONSUMER_HOST: '127.0.0.2', HOST: '127.0.0.3' });
  });
  afterAll(async () => {
    await consumer?.stop();
    await deleteTopology(testTopology(prefix)).catch(() => undefined);
  });

  const get = async (pathAndQuery: string, token: string | null) => {
    const response = await fetch(`${consumer.url}${pathAndQuery}`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Json };
  };

  it('binds CONSUMER_HOST, not HOST', async () => {
    expect(consumer.url).toBe(`http://127.0.0.2:${consumer.port}`);
    const refused = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect(consumer.port, host);
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
    expect(await refused('127.0.0.3')).toBe(true);
    expect(await refused('127.0.0.1')).toBe(true);
  });

  it('refuses its read models without a token (401) and with too narrow a scope (403), and answers with the right one', async () => {
    const notifications = `/notifications?customerId=${randomUUID()}`;
    const missing = await get(notifications, null);
    expect({ status: missing.status, code: missing.body.code, challenge: missing.headers.get('www-authenticate') }).toEqual({
      status: 401,
      code: 'TOKEN_MISSING',
      challenge: 'Bearer',
    });
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await get(notifications, await testToken({ scopes: ['orders:read'] }))).status).toBe(403);
    expect(await get(notifications, await testToken({ scopes: ['users:read'] }))).toMatchObject({ status: 200, body: { items: [] } });
    const stats = `/customers/${randomUUID()}/stats`;
    expect((await get(stats, await testToken({ scopes: ['users:read'] }))).status).toBe(403);
    expect(await get(stats, await testToken({ scopes: ['orders:read'] }))).toMatchObject({ status: 404, body: { code: 'CUSTOMER_NOT_KNOWN' } });
    expect((await get(stats, await testToken({ expiresInSeconds: -60 }))).body.code).toBe('TOKEN_EXPIRED');
  });

  it('leaves its health check open', async () => {
    expect((await get('/health', null)).status).toBe(200);
  });
});

type Env = Record<string, string | undefined>;

/**
 * Runs a built app (`spawn` with `env`) to its end: its exit code and everything it wrote. LOG_LEVEL
 * is this process's, not the helpers' warn: a refusal must be the only line at the level the app runs with.
 */
async function runToExit(spawn: (env: Env) => Promise<ApiProcess | ConsumerProcess>, env: Env): Promise<{ code: number | null; output: string }> {
  const app = await spawn({ LOG_LEVEL: process.env.LOG_LEVEL, ...env });
  try {
    const { code } = await exitOnItsOwn(app);
    return { code, output: app.output };
  } finally {
    if (app instanceof ConsumerProcess) await app.stop(); // drops the database it was given (and never reached)
  }
}

describe('starting without any authentication configured', () => {
  it.each([
    ['the API', (env: Env) => ApiProcess.spawn(env)],
    ['the consumer', (env: Env) => ConsumerProcess.spawn(uniqueBrokerPrefix(), env)],
  ])('%s refuses to start with one line naming the variables, before it touches the database', async (_name, spawn) => {
    // A database nobody listens on: the refusal must come before any attempt to reach it.
    const unreachable = 'postgres://postgres@127.0.0.1:1/never';
    const { code, output } = await runToExit(spawn, { ...NO_AUTH, DATABASE_URL: unreachable, CONSUMER_DATABASE_URL: unreachable, PORT: '1', CONSUMER_PORT: '1' });
    expect(code).toBe(1);
    expect(output.trim().split('\n')).toHaveLength(1);
    const line = JSON.parse(output.trim()) as { level: string; msg: string };
    expect(line.level).toBe('fatal');
    expect(line.msg).toMatch(/^Invalid configuration: no authentication is configured: set AUTH_JWT_SECRET .* or AUTH_JWKS_URL .* or AUTH_MODE=development/);
    expect(output).not.toMatch(/ECONNREFUSED|^\s+at /m);
  });
});

describe('development mode on an address others can reach', () => {
  it.each([
    ['the API', (env: Env) => ApiProcess.spawn({ ...env, HOST: '0.0.0.0' }), '0.0.0.0'],
    ['the consumer', (env: Env) => ConsumerProcess.spawn(uniqueBrokerPrefix(), { ...env, CONSUMER_HOST: '::' }), '::'],
  ])('%s refuses to start, naming the address and what to configure, before it touches the database', async (_name, spawn, host) => {
    const unreachable = 'postgres://postgres@127.0.0.1:1/never';
    const { code, output } = await runToExit(spawn, { ...NO_AUTH, AUTH_MODE: 'development', DATABASE_URL: unreachable, CONSUMER_DATABASE_URL: unreachable, PORT: '1', CONSUMER_PORT: '1' });
    expect(code).toBe(1);
    const line = JSON.parse(output.trim()) as { level: string; msg: string };
    expect(line).toMatchObject({ level: 'fatal', msg: expect.stringContaining(`AUTH_MODE=development (what npm start runs when no authentication is configured) listens on loopback addresses only, not on ${host}`) });
    expect(output).not.toMatch(/ECONNREFUSED|valid 24 h/);
  });

  it('npm start with nothing configured and HOST=0.0.0.0 exits 1 before it prints a token or starts an app', async () => {
    const script = spawnProcess(process.execPath, ['scripts/start.mjs'], {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, ...NO_AUTH, NODE_OPTIONS: '', HOST: '0.0.0.0', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/never' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    script.stdout.on('data', (chunk) => (output += chunk));
    script.stderr.on('data', (chunk) => (output += chunk));
    const { code } = await exitOf(script);
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration: AUTH_MODE=development (what npm start runs when no authentication is configured) listens on loopback addresses only, not on 0.0.0.0');
    expect(output).not.toMatch(/TOKEN=|started \(pid/);
  });
});

describe('starting with a JWKS URL that carries credentials', () => {
  it('refuses to start, naming AUTH_JWKS_URL without echoing the password: fetch never sends a URL with credentials, so no token could ever be verified', async () => {
    const unreachable = 'postgres://postgres@127.0.0.1:1/never';
    const { code, output } = await runToExit((env) => ApiProcess.spawn(env), {
      ...NO_AUTH,
      AUTH_JWKS_URL: 'https://reader:jwks-pw-8f2c@id.example/jwks.json',
      AUTH_AUDIENCE: 'orders-api',
      DATABASE_URL: unreachable,
      PORT: '1',
    });
    expect(code).toBe(1);
    const line = JSON.parse(output.trim()) as { level: string; msg: string };
    expect(line).toMatchObject({ level: 'fatal', msg: expect.stringMatching(/^Invalid configuration: AUTH_JWKS_URL: /) });
    expect(output).not.toContain('jwks-pw-8f2c');
  });
});

describe('development mode', () => {
  let databaseUrl: string;
  const brokerPrefix = uniqueBrokerPrefix();
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });
  afterAll(async () => {
    await dropDatabase(databaseUrl);
    await deleteTopology(testTopology(brokerPrefix)).catch(() => undefined);
  });

  it('warns at start and logs a token of every scope for the secret it generated, and accepts only tokens of that secret', async () => {
    const api = await ApiProcess.start({ ...NO_AUTH, AUTH_MODE: 'development', DATABASE_URL: databaseUrl, BROKER_PREFIX: brokerPrefix, RABBITMQ_URL: TEST_RABBITMQ_URL });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200)); // the warning is written before the server listens; let the pipe deliver it
      expect(api.output).toMatch(/"level":"warn".*AUTH_MODE=development with a secret generated for this process; never run this mode where others can reach it/);
      const token = /valid 24 h for this process only: ([\w.-]+)/.exec(api.output)?.[1];
      expect(token).toBeDefined();
      const get = (authorization?: string) => fetch(`${api.url}/orders`, { headers: authorization ? { authorization } : {} });
      expect((await get(`Bearer ${token}`)).status).toBe(200);
      expect((await get()).status).toBe(401);
      expect((await get(`Bearer ${await testToken({ issuer: '', audience: '' })}`)).status).toBe(401);
    } finally {
      await api.kill('SIGTERM');
    }
  });

  it('is what `npm start` runs when nothing is configured: it prints one token that both apps accept', async () => {
    const consumerDatabase = await createTestDatabase();
    let script: StartScript | undefined;
    try {
      script = await StartScript.start(
        { ...NO_AUTH, DATABASE_URL: databaseUrl, CONSUMER_DATABASE_URL: consumerDatabase, BROKER_PREFIX: brokerPrefix, LOG_LEVEL: 'warn' },
        { until: 'healthy' },
      );
      const { port, consumerPort } = script;
      const token = /^\[start\] export TOKEN=(\S+)$/m.exec(script.output)?.[1];
      expect(token).toBeDefined();
      expect(script.output).toContain(`[start] then: curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${port}/orders`);
      expect(script.output).toMatch(/\[api\] .*"level":"warn".*AUTH_MODE=development: tokens signed with AUTH_JWT_SECRET are accepted/);
      expect(script.output).toMatch(/\[consumer\] .*"level":"warn".*AUTH_MODE=development: tokens signed with AUTH_JWT_SECRET are accepted/);
      const get = (url: string, authorization?: string) => fetch(url, { headers: authorization ? { authorization } : {} }).then((response) => response.status);
      const notifications = `http://127.0.0.1:${consumerPort}/notifications?customerId=${randomUUID()}`;
      expect(await get(`http://127.0.0.1:${port}/orders`, `Bearer ${token}`)).toBe(200);
      expect(await get(notifications, `Bearer ${token}`)).toBe(200);
      expect(await get(`http://127.0.0.1:${port}/orders`)).toBe(401);
      expect(await get(notifications)).toBe(401);
    } finally {
      script?.signal('SIGINT');
      await script?.exited;
      await dropDatabase(consumerDatabase);
    }
  }, 60_000);
});
