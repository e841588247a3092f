import { connect, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { countRows, uniqueEmail } from './support/fixtures';
import { testToken } from './support/test-auth';
import { startTestApp, type TestApp } from './support/test-app';

/** Rate limiting per client, security headers, CORS and request timeouts on the real API. */

describe('rate limiting per client (RATE_LIMIT_PER_MINUTE=3)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it("answers a client's 4th request in a minute with 429 problem+json and Retry-After, and does nothing", async () => {
    const token = await testToken({ subject: 'client-a' });
    for (let i = 1; i <= 3; i++) {
      const response = await app.http({ token }).get('/orders').expect(200);
      expect(response.headers['x-ratelimit-limit']).toBe('3');
      expect(response.headers['x-ratelimit-remaining']).toBe(String(3 - i));
    }
    const usersBefore = await countRows(app, 'users');
    const refused = await app.http({ token }).post('/users').send({ email: uniqueEmail(), name: 'Over the limit' });
    expect({ status: refused.status, type: refused.headers['content-type'], code: refused.body.code }).toEqual({
      status: 429,
      type: expect.stringMatching(/^application\/problem\+json/),
      code: 'TOO_MANY_REQUESTS',
    });
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.body.detail).toMatch(/more than 3 requests in the last minute/);
    expect(await countRows(app, 'users')).toBe(usersBefore);
  });

  it('counts every client apart, by its token\'s sub: another client of the same address is not limited', async () => {
    const other = await testToken({ subject: 'client-b' });
    await app.http({ token: other }).get('/orders').expect(200);
    // A new token for the first client is the same client.
    await app.http({ token: await testToken({ subject: 'client-a' }) }).get('/orders').expect(429);
  });

  it('counts requests without a valid token by IP address, so a flood of bad tokens is limited too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await app.http({ token: null }).get('/orders')).status);
    statuses.push((await app.http({ token: 'not-a-jwt' }).get('/orders')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('never limits the health check, nor Swagger UI', async () => {
    for (let i = 0; i < 10; i++) expect((await app.http({ token: null }).get('/health')).status).not.toBe(429);
    for (let i = 0; i < 5; i++) await app.http({ token: null }).get('/docs-json').expect(200);
  });
});

describe('security headers, CORS off and default timeouts (nothing configured)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.close();
  });

  const expectSecurityHeaders = (headers: Record<string, string>) => {
    expect(headers['content-security-policy']).toEqual(expect.stringContaining("default-src 'self'"));
    expect(headers['content-security-policy']).toEqual(expect.stringContaining("script-src 'self'"));
    expect(headers['content-security-policy']).toEqual(expect.stringContaining("frame-ancestors 'none'"));
    expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    expect(headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'strict-transport-security': expect.stringMatching(/^max-age=\d+/),
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
    });
  };

  it('serves Swagger UI with a CSP that allows its own scripts, styles and data: images, and nothing from elsewhere', async () => {
    const page = await app.http({ token: null }).get('/docs').redirects(3).expect(200);
    expect(page.text).toContain('swagger-ui-bundle.js');
    expectSecurityHeaders(page.headers);
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("img-src 'self' data:");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|'unsafe-eval'|\*/);
  });

  it('sends the security headers on API answers, on problems from guards and on answers of the earliest hooks', async () => {
    expectSecurityHeaders((await app.http().get('/orders').expect(200)).headers);
    expectSecurityHeaders((await app.http({ token: null }).get('/orders').expect(401)).headers);
    expectSecurityHeaders((await app.http().post('/users').set('content-type', 'text/plain').send('hello').expect(415)).headers);
  });

  it('sends no CORS header to any origin when CORS_ORIGINS is unset, so browsers refuse cross-origin reads', async () => {
    const read = await app.http().get('/orders').set('Origin', 'https://app.example.com').expect(200);
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await app
      .http({ token: null })
      .options('/orders')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('has no rate limit unless RATE_LIMIT_PER_MINUTE is set', async () => {
    for (let i = 0; i < 30; i++) {
      const response = await app.http().get('/orders').expect(200);
      expect(response.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('closes a request that takes over 30 s to arrive and a connection silent for 2 minutes, by default', () => {
    const server = app.app.getHttpServer() as Server;
    expect(server.requestTimeout).toBe(30_000);
    expect(server.timeout).toBe(120_000);
  });
});

describe('CORS from an allow-list (CORS_ORIGINS)', () => {
  let app: TestApp;
  const allowed = 'https://app.example.com';
  beforeAll(async () => {
    app = await startTestApp({ env: { CORS_ORIGINS: `${allowed},http://localhost:5173` } });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers the preflight of an allowed origin with what a command needs: its method and the Authorization, Idempotency-Key and If-Match headers', async () => {
    const preflight = await app
      .http({ token: null })
      .options('/orders')
      .set('Origin', allowed)
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type,idempotency-key,if-match');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(allowed);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect(preflight.headers['access-control-allow-headers'].split(/,\s*/)).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'idempotency-key', 'if-match']),
    );
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('lets a script of an allowed origin read the answer and its Location, ETag, Retry-After and correlation id', async () => {
    const read = await app.http().get('/orders').set('Origin', 'http://localhost:5173').expect(200);
    expect(read.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(read.headers['access-control-expose-headers'].split(/,\s*/)).toEqual(
      expect.arrayContaining(['location', 'etag', 'retry-after', 'www-authenticate', 'x-correlation-id']),
    );
  });

  it('gives any other origin no CORS header, neither on the preflight nor on the answer', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com']) {
      const preflight = await app.http({ token: null }).options('/orders').set('Origin', origin).set('Access-Control-Request-Method', 'POST');
      expect({ origin, allowed: preflight.headers['access-control-allow-origin'] }).toEqual({ origin, allowed: undefined });
      const read = await app.http().get('/orders').set('Origin', origin);
      expect({ origin, allowed: read.headers['access-control-allow-origin'] }).toEqual({ origin, allowed: undefined });
    }
  });
});

/** Opens a raw TCP connection to the app, so a test can send a request as slowly as it likes. */
async function rawConnection(app: TestApp): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  await app.app.listen(0, '127.0.0.1');
  const { port } = (app.app.getHttpServer() as Server).address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  const openedAt = performance.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - openedAt)));
  socket.on('error', () => undefined);
  return { socket, received: () => received, closed };
}

describe('request timeouts', () => {
  it('answers 408 and closes the connection of a client that sends its request slower than HTTP_REQUEST_TIMEOUT_MS', async () => {
    const app = await startTestApp({ env: { HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_CONNECTION_TIMEOUT_MS: '0' } });
    try {
      const { socket, received, closed } = await rawConnection(app);
      socket.write('POST /users HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      // A byte every 200 ms: never silent, only slow (slowloris).
      const drip = setInterval(() => socket.write(' '), 200);
      const elapsedMs = await closed;
      clearInterval(drip);
      // The server writes a 408 and closes; the bytes still dripping in may turn the close into a
      // reset that discards the 408 before it is read.
      expect(received()).toMatch(/^(HTTP\/1\.1 408 .*)?$/s);
      expect(elapsedMs).toBeGreaterThanOrEqual(900);
      expect(elapsedMs).toBeLessThan(5_000);
    } finally {
      await app.close();
    }
  });

  it('closes a connection that stays silent for HTTP_CONNECTION_TIMEOUT_MS', async () => {
    const app = await startTestApp({ env: { HTTP_REQUEST_TIMEOUT_MS: '0', HTTP_CONNECTION_TIMEOUT_MS: '1000' } });
    try {
      const { received, closed } = await rawConnection(app);
      const elapsedMs = await closed;
      expect(received()).toBe('');
      expect(elapsedMs).toBeGreaterThanOrEqual(900);
      expect(elapsedMs).toBeLessThan(5_000);
    } finally {
      await app.close();
    }
  });
});
