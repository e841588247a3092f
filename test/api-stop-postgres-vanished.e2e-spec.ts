import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import { dropDatabase } from '../src/database/ensure-database';
import { ApiProcess } from './support/api-process';
import type { TcpProxy } from './support/tcp-proxy';
import { testAuthorization } from './support/test-auth';
import { eventually } from './support/test-app';
import { uniqueBrokerPrefix } from './support/test-broker';
import { createTestDatabase, startDatabaseProxy } from './support/test-database';

/**
 * A stop (SIGTERM) of the API while PostgreSQL is silent (its machine gone, the network cut: no
 * FIN, no RST, played by a proxy that black-holes both directions) and requests wait on statements
 * that will never be answered. With the production defaults (DATABASE_STATEMENT_REPLY_TIMEOUT_MS
 * 30 s, SHUTDOWN_TIMEOUT_MS 10 s) the statements' own bound comes after the stop's deadline: the
 * stop waited for them until its deadline and exited 1, and its clients got no answer. A stop gives
 * up on a PostgreSQL that answered nothing for STOP_DATABASE_WAIT_MS while something waited on it
 * (the requests, the readers, the relay): each request is answered 503 DATABASE_UNAVAILABLE, the
 * rest of the stop meets the same at once, and the process exits 0 well before its deadline.
 */
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** src/database/stop-database-wait.ts */
const STOP_DATABASE_WAIT_MS = 2000;
/** What an answer may take beyond that on a loaded machine. */
const SLACK_MS = 2000;
const REGISTRATIONS = 4;

interface Answer {
  status?: number;
  contentType?: string;
  retryAfter?: string;
  body?: { code?: string; status?: number };
  /** When (Date.now()) it came. */
  at: number;
}

/** Sends `method path` with `body` on a connection of its own; resolves with its answer (status undefined: the connection closed unanswered). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: object): { flushed: Promise<void>; answer: Promise<Answer> } {
  let flushed!: () => void;
  const sent = new Promise<void>((resolve) => (flushed = resolve));
  const answer = new Promise<Answer>((resolve) => {
    const request = httpRequest({ port, host: '127.0.0.1', method, path, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.once('end', () =>
        resolve({
          status: response.statusCode,
          contentType: response.headers['content-type'],
          retryAfter: response.headers['retry-after'],
          body: text ? JSON.parse(text) : undefined,
          at: Date.now(),
        }),
      );
    });
    request.once('error', () => resolve({ at: Date.now() }));
    request.end(body ? JSON.stringify(body) : undefined, () => flushed());
  });
  return { flushed: sent, answer };
}

describe('a stop of the API while PostgreSQL is silent and requests wait on it', () => {
  let databaseUrl: string;
  let proxy: TcpProxy;
  let api: ApiProcess | undefined;

  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
    proxy = await startDatabaseProxy();
  });
  afterAll(async () => {
    proxy?.release();
    await api?.kill('SIGKILL');
    await proxy?.close();
    if (databaseUrl) await dropDatabase(databaseUrl);
  });

  async function query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      return (await db.query(sql, params)).rows as T[];
    } finally {
      await db.end();
    }
  }

  it('answers them 503 DATABASE_UNAVAILABLE within the stop wait, writes none of them, and exits 0 well before SHUTDOWN_TIMEOUT_MS', async () => {
    // The production defaults of both bounds, which this is about.
    api = await ApiProcess.start({
      DATABASE_URL: proxy.rewrite(databaseUrl),
      BROKER_PREFIX: uniqueBrokerPrefix(),
      LOG_LEVEL: 'log',
      DATABASE_STATEMENT_REPLY_TIMEOUT_MS: undefined,
      SHUTDOWN_TIMEOUT_MS: undefined,
    });
    // Started: its readers and relay work (and wait on PostgreSQL once it is silent).
    await eventually(async () => expect(api!.output).toContain('API on http://'));
    const authorization = await testAuthorization();
    const created = await api.post('/users', { email: `before-${randomUUID()}@example.com`, name: 'Before' });
    expect(created.status).toBe(201);

    proxy.blackHole();
    const emails = Array.from({ length: REGISTRATIONS }, () => `held-${randomUUID()}@example.com`);
    // Half of them with an Idempotency-Key: email → key.
    const keyed = new Map(emails.filter((_, i) => i % 2 === 0).map((email) => [email, randomUUID()]));
    const requests = [
      ...emails.map((email) => send(api!.port, 'POST', '/users', { ...authorization, ...(keyed.has(email) ? { 'idempotency-key': keyed.get(email)! } : {}) }, { email, name: 'Held' })),
      send(api.port, 'GET', `/users/${created.body.id}`, authorization),
    ];
    await Promise.all(requests.map(({ flushed }) => flushed));
    // Taken in and waiting on PostgreSQL: a request sent after them is answered without the database.
    expect((await fetch(`${api.url}/docs-json`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 500));

    const stopAt = Date.now();
    api.signal('SIGTERM');
    const status = await api.exited;
    const stopMs = Date.now() - stopAt;
    const answers = await Promise.all(requests.map(({ answer }) => answer));
    process.stderr.write(`stopped in ${stopMs} ms, ${JSON.stringify(status)}; answers after ${answers.map(({ at }) => at - stopAt).join(', ')} ms\n`);

    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 503, retryAfter: '1', body: { status: 503, code: 'DATABASE_UNAVAILABLE' } });
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(answer.at - stopAt).toBeLessThan(STOP_DATABASE_WAIT_MS + SLACK_MS);
    }
    expect(status).toEqual({ code: 0, signal: null });
    expect(stopMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS / 2);
    expect(api.output).not.toContain('did not stop within');
    expect(api.output).toContain('database pool closed');

    // Back: what the API had sent reaches PostgreSQL now, as TCP delivers it, and its connections
    // end there. A command is all or nothing: its row and its event together, or neither. One
    // without a key whose first statement was its whole write may take effect so (a 503's outcome
    // is unknown, as after any lost connection); one with a key began with its transaction, which
    // never commits, so its retry with the same key takes effect once.
    proxy.release();
    await eventually(async () => {
      const [{ active }] = await query<{ active: number }>(
        `SELECT count(*)::int AS active FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'api %'`,
      );
      expect(active).toBe(0);
    }, 20_000);
    const written = await query<{ email: string; users: number; events: number }>(
      `SELECT email, (SELECT count(*)::int FROM users u WHERE u.email = e.email) AS users,
              (SELECT count(*)::int FROM events WHERE event_type = 'UserRegistered' AND payload->>'email' = e.email) AS events
       FROM unnest($1::text[]) AS e(email)`,
      [emails],
    );
    for (const { users, events } of written) {
      expect(users).toBeLessThanOrEqual(1);
      expect(events).toBe(users);
    }
    expect(written.filter(({ email }) => keyed.has(email)).map(({ users }) => users)).toEqual([0, 0]);

    // Without the wait at the door: the stopped process's lease sessions linger on the server until
    // it gives them up, and the readers they hold back would have the retry shed (LOAD_SHED).
    api = await ApiProcess.start({ DATABASE_URL: databaseUrl, BROKER_PREFIX: uniqueBrokerPrefix(), ADMISSION_CONTROL: 'off' });
    for (const [email, key] of keyed) {
      const retried = await fetch(`${api.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key, ...authorization },
        body: JSON.stringify({ email, name: 'Held' }),
      });
      expect(`${retried.status} ${await retried.text()}`).toMatch(/^201 /);
    }
    const registered = await query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE email = ANY($1)`, [[...keyed.keys()]]);
    expect(registered[0].n).toBe(keyed.size);
    // Two API starts and a 20 s wait for the server's side: past the default bound on a loaded machine.
  }, 180_000);
});
