import { TestApp, eventually, startTestApp } from './support/test-app';
import { countRows, registerUser, uniqueEmail } from './support/fixtures';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('users over HTTP', () => {
  it('registers a user: 201 with Location, then GET /users/{id} serves the profile', async () => {
    const email = uniqueEmail('Ada');
    const response = await app.http().post('/users').send({ email, name: ' Ada ', creditLimit: 5000 }).expect(201);
    const { id } = response.body;
    expect(response.headers.location).toBe(`/users/${id}`);
    // Time-ordered (UUIDv7): new keys land at the right edge of the indexes (see TimeOrderedUuidGenerator).
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);

    const profile = await eventually(async () => (await app.http().get(`/users/${id}`).expect(200)).body);
    expect(profile).toMatchObject({
      id,
      email: email.toLowerCase(),
      name: 'Ada',
      status: 'ACTIVE',
      creditLimit: 5000,
      creditReserved: 0,
      version: 1,
    });
  });

  it('gives a new user the default credit limit of 100000', async () => {
    const id = await registerUser(app);
    const profile = await eventually(async () => (await app.http().get(`/users/${id}`).expect(200)).body);
    expect(profile.creditLimit).toBe(100000);
  });

  it('refuses an email that is taken, case-insensitively, with 409 and no event stored', async () => {
    const email = uniqueEmail('taken');
    await registerUser(app, { email });
    const eventsBefore = await countRows(app, 'events');
    const response = await app.http().post('/users').send({ email: email.toUpperCase(), name: 'Twin' }).expect(409);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status: 409, code: 'EMAIL_TAKEN' });
    expect(await countRows(app, 'events')).toBe(eventsBefore);
  });

  it('lets exactly one of many concurrent registrations with the same email win', async () => {
    const email = uniqueEmail('race');
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, i) => app.http().post('/users').send({ email, name: `Racer ${i}` })),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(11);
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM users WHERE email = $1`, [email]);
    expect(n).toBe(1);
    const [{ registered }] = await app.db.query(
      `SELECT count(*)::int AS registered FROM events WHERE event_type = 'UserRegistered' AND payload->>'email' = $1`,
      [email],
    );
    expect(registered).toBe(1);
  });

  it('changes the email (204) and the profile follows', async () => {
    const id = await registerUser(app);
    const email = uniqueEmail('new');
    await app.http().put(`/users/${id}/email`).send({ email }).expect(204);
    const profile = await eventually(async () => {
      const body = (await app.http().get(`/users/${id}`).expect(200)).body;
      expect(body.version).toBe(2);
      return body;
    });
    expect(profile.email).toBe(email);
  });

  it('refuses to change the email to one another user has (409)', async () => {
    const taken = uniqueEmail('other');
    await registerUser(app, { email: taken });
    const id = await registerUser(app);
    const response = await app.http().put(`/users/${id}/email`).send({ email: taken }).expect(409);
    expect(response.body.code).toBe('EMAIL_TAKEN');
  });

  it('answers 404 for changing the email of an unknown user', async () => {
    const response = await app
      .http()
      .put('/users/2d9f6f0e-0000-4000-8000-000000000000/email')
      .send({ email: uniqueEmail() })
      .expect(404);
    expect(response.body.code).toBe('USER_NOT_FOUND');
  });

  it('deactivates a user once (204), then refuses again with 409', async () => {
    const id = await registerUser(app);
    await app.http().post(`/users/${id}/deactivate`).expect(204);
    const again = await app.http().post(`/users/${id}/deactivate`).expect(409);
    expect(again.body.code).toBe('USER_ALREADY_DEACTIVATED');
    const profile = await eventually(async () => {
      const body = (await app.http().get(`/users/${id}`).expect(200)).body;
      expect(body.status).toBe('DEACTIVATED');
      return body;
    });
    expect(profile.version).toBe(2);
  });

  it('refuses to change the email of a deactivated user (409)', async () => {
    const id = await registerUser(app);
    await app.http().post(`/users/${id}/deactivate`).expect(204);
    const response = await app.http().put(`/users/${id}/email`).send({ email: uniqueEmail() }).expect(409);
    expect(response.body.code).toBe('USER_DEACTIVATED');
  });

  it('answers 404 for deactivating an unknown user', async () => {
    await app.http().post('/users/2d9f6f0e-0000-4000-8000-000000000001/deactivate').expect(404);
  });
});
