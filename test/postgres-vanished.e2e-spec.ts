import { randomUUID } from 'node:crypto';
import { uniqueEmail } from './support/fixtures';
import type { TcpProxy } from './support/tcp-proxy';
import { startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, startDatabaseProxy } from './support/test-database';

/**
 * PostgreSQL vanishing without closing the API's connections (its machine gone, the network cut:
 * no FIN, no RST), played by a proxy that stops forwarding both ways with both sockets left open.
 * A statement then waits for an answer that never comes: before DATABASE_STATEMENT_REPLY_TIMEOUT_MS
 * the request hung, holding its pool connection, until the kernel's TCP timeouts (minutes; behind
 * this proxy, for ever). With it the request is answered 503 DATABASE_UNAVAILABLE once the bound
 * has passed (whether its statement went out on a pooled connection, or it needed a new one, whose
 * handshake the API bounds alike), and the API serves as before once the network is back.
 */
const REPLY_TIMEOUT_MS = 1500;
/** What a 503 may take beyond the bound: the request's other work, a loaded machine. */
const SLACK_MS = 2500;

describe('the API whose PostgreSQL vanished without closing its connections', () => {
  let proxy: TcpProxy;
  let app: TestApp;

  beforeAll(async () => {
    proxy = await startDatabaseProxy();
    app = await startTestApp({
      databaseUrl: proxy.rewrite(await createTestDatabase()),
      env: { DATABASE_STATEMENT_REPLY_TIMEOUT_MS: String(REPLY_TIMEOUT_MS) },
    });
  });
  afterAll(async () => {
    proxy?.release();
    await app?.close();
    await proxy?.close();
  });

  /** The request's answer and how long it took. */
  async function timed<T>(request: PromiseLike<T>): Promise<{ response: T; ms: number }> {
    const started = Date.now();
    const response = await request;
    return { response, ms: Date.now() - started };
  }

  it('answers a query and a command 503 DATABASE_UNAVAILABLE within the reply timeout instead of hanging, then serves again once PostgreSQL is back', async () => {
    const id = (await app.http().post('/users').send({ email: uniqueEmail('before'), name: 'Before' }).expect(201)).body.id;
    const email = uniqueEmail('cut-off');
    const idempotencyKey = randomUUID();
    const register = () => app.http().post('/users').set('Idempotency-Key', idempotencyKey).send({ email, name: 'Cut Off' });

    proxy.blackHole();
    try {
      const read = await timed(app.http().get(`/users/${id}`));
      const command = await timed(register());

      for (const [{ response, ms }, instance] of [
        [read, `/users/${id}`],
        [command, '/users'],
      ] as const) {
        expect(response.status).toBe(503);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.body).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE', instance });
        expect(ms).toBeGreaterThanOrEqual(REPLY_TIMEOUT_MS - 50);
        expect(ms).toBeLessThan(REPLY_TIMEOUT_MS + SLACK_MS);
      }
    } finally {
      proxy.release();
    }

    // Back: the connections the bound ended are gone, the others answer (or new ones are made).
    expect((await app.http().get(`/users/${id}`).expect(200)).body.id).toBe(id);
    // The command cut off has an unknown outcome: what its connection had sent reaches PostgreSQL
    // when the network is back, as TCP delivers it (a one-statement write without a key may then
    // commit). The 503's promise is that the retry with the same Idempotency-Key takes effect
    // once: its claim, the command and the stored response are one transaction.
    const registered = await register().expect(201);
    expect((await app.http().get(`/users/${registered.body.id}`).expect(200)).body.email).toBe(email);
    const [{ registrations }] = await app.db.query(`SELECT count(*)::int AS registrations FROM events WHERE event_type = 'UserRegistered' AND payload->>'email' = $1`, [email]);
    expect(registrations).toBe(1);
  });
});
