import { Client } from 'pg';
import { lockUserRow, registerUser, uniqueEmail } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * PostgreSQL failing a request for a reason that is not the request's (here: its backend
 * terminated while it waited on a row lock, as a restart or failover would) is answered 503
 * problem+json with Retry-After and DATABASE_UNAVAILABLE, not a bare 500: the same request
 * succeeds once the database is back. `app.http()` checks the answer against the OpenAPI document.
 */
let app: TestApp;
let admin: Client;
beforeAll(async () => {
  app = await startTestApp();
  admin = new Client({ connectionString: app.databaseUrl });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await app?.close();
});

it('answers 503 DATABASE_UNAVAILABLE with Retry-After when the backend of a command is terminated, and the retry succeeds', async () => {
  const id = await registerUser(app);
  const email = uniqueEmail('moved');
  const lock = await lockUserRow(app, id);
  let released = false;
  try {
    const answer = app.http().put(`/users/${id}/email`).send({ email }).then((response) => response);
    // The command's backend, waiting on the row lock (the only one waiting on a lock in this database).
    const pid = await eventually(async () => {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      );
      expect(rows).toHaveLength(1);
      return rows[0].pid;
    });
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
    const response = await answer;

    expect(response.status).toBe(503);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body).toEqual(
      expect.objectContaining({ status: 503, code: 'DATABASE_UNAVAILABLE', type: '/problems/database-unavailable', instance: `/users/${id}/email` }),
    );
    await lock.release();
    released = true;

    await app.http().put(`/users/${id}/email`).send({ email }).expect(204);
    expect((await app.http().get(`/users/${id}`).expect(200)).body.email).toBe(email);
  } finally {
    if (!released) await lock.release();
  }
});
