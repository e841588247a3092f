import { createHash } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { ConfirmOrderCommand } from '../src/modules/orders/commands/confirm-order/confirm-order.command';
import { countRows, placeOrder, registerUser, twoLines, uniqueEmail } from './support/fixtures';
import { type TestApp, startTestApp } from './support/test-app';
import { withCommandCause } from '../src/event-store';

let app: TestApp;
let customerId: string;
beforeAll(async () => {
  // The saga is off: these tests confirm orders by hand.
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
  customerId = await registerUser(app);
});
afterAll(() => app.close());

/** POST /orders with `raw` sent verbatim as the JSON body. */
const sendJson = (key: string, raw: string) =>
  app.http().post('/orders').set('Idempotency-Key', key).set('content-type', 'application/json').send(raw);

let keyCounter = 0;
const newKey = () => `key-${Date.now()}-${keyCounter++}`;

describe('Idempotency-Key', () => {
  it('replays the same response for the same key and body, with one effect', async () => {
    const key = newKey();
    const body = { email: uniqueEmail('idem'), name: 'Once' };
    const first = await app.http().post('/users').set('Idempotency-Key', key).send(body).expect(201);
    const eventsAfterFirst = await countRows(app, 'events');
    const second = await app.http().post('/users').set('Idempotency-Key', key).send(body).expect(201);

    expect(second.body).toEqual(first.body);
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await countRows(app, 'events')).toBe(eventsAfterFirst);
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM users WHERE email = $1`, [body.email]);
    expect(n).toBe(1);
  });

  it('refuses the same key with a different body (422) and writes nothing', async () => {
    const key = newKey();
    await app.http().post('/orders').set('Idempotency-Key', key).send({ customerId, currency: 'EUR', lines: twoLines }).expect(202);
    const before = await countRows(app, 'events');
    const response = await app
      .http()
      .post('/orders')
      .set('Idempotency-Key', key)
      .send({ customerId, currency: 'USD', lines: twoLines })
      .expect(422);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await countRows(app, 'events')).toBe(before);
  });

  it('replays the same object with its members in another order, nested too, and other whitespace', async () => {
    const key = newKey();
    const sku = `ORDER-${key}`;
    const first = `{"customerId":"${customerId}","currency":"EUR","lines":[{"sku":"${sku}","quantity":2,"unitPrice":150},{"sku":"B","quantity":1,"unitPrice":99}]}`;
    const reordered = `{ "lines": [ { "unitPrice": 150, "sku": "${sku}", "quantity": 2.0 }, { "quantity": 1, "unitPrice": 99, "sku": "B" } ],
      "currency": "EUR", "customerId": "${customerId}" }`;
    const placed = await sendJson(key, first).expect(202);
    const eventsAfterFirst = await countRows(app, 'events');

    const replay = await sendJson(key, reordered).expect(202);

    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(placed.body);
    expect(replay.headers.location).toBe(placed.headers.location);
    expect(await countRows(app, 'events')).toBe(eventsAfterFirst);
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM orders WHERE lines->0->>'sku' = $1`, [sku]);
    expect(n).toBe(1);
  });

  it('still refuses (422) the same key with the same members but another nested value, or the lines in another order', async () => {
    const key = newKey();
    const line = (sku: string, quantity: number) => ({ sku, quantity, unitPrice: 150 });
    await sendJson(key, JSON.stringify({ customerId, currency: 'EUR', lines: [line('A', 2), line('B', 1)] })).expect(202);
    const before = await countRows(app, 'events');

    const otherValue = await sendJson(key, JSON.stringify({ lines: [line('A', 3), line('B', 1)], currency: 'EUR', customerId })).expect(422);
    const otherOrder = await sendJson(key, JSON.stringify({ customerId, currency: 'EUR', lines: [line('B', 1), line('A', 2)] })).expect(422);

    expect([otherValue.body.code, otherOrder.body.code]).toEqual(['IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_KEY_REUSED']);
    expect(await countRows(app, 'events')).toBe(before);
  });

  it('still replays a key whose fingerprint an older release stored (JSON.stringify of the body as received)', async () => {
    const key = newKey();
    const body = { name: 'Legacy', email: uniqueEmail('legacy') };
    const first = await app.http().post('/users').set('Idempotency-Key', key).send(body).expect(201);
    const legacyHash = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
    await app.db.query(`UPDATE idempotency_keys SET request_hash = $2 WHERE key = $1`, [key, legacyHash]);

    const replay = await app.http().post('/users').set('Idempotency-Key', key).send(body).expect(201);

    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
  });

  it('answers a body with a lone UTF-16 surrogate and a key with 400, not a 5xx, and stores no key', async () => {
    const key = newKey();
    const raw = `{"email": "${uniqueEmail()}", "name": "Ada \\ud800"}`;
    await app.http().post('/users').set('Idempotency-Key', key).set('content-type', 'application/json').send(raw).expect(400);
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1`, [key]);
    expect(n).toBe(0);
  });

  it('applies concurrent duplicates once: every one gets the same 202 and one order exists', async () => {
    const key = newKey();
    const body = { customerId, currency: 'EUR', lines: [{ sku: `RACE-${key}`, quantity: 1, unitPrice: 100 }] };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => app.http().post('/orders').set('Idempotency-Key', key).send(body)),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(202));
    expect(new Set(responses.map((response) => response.body.id)).size).toBe(1);
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM orders WHERE lines->0->>'sku' = $1`, [`RACE-${key}`]);
    expect(n).toBe(1);
  });

  it('turns a repeated cancel into a replayed 202 instead of a 409', async () => {
    const orderId = await placeOrder(app, customerId);
    const key = newKey();
    await app.http().post(`/orders/${orderId}/cancel`).set('Idempotency-Key', key).send({ reason: 'dup' }).expect(202);
    const replay = await app.http().post(`/orders/${orderId}/cancel`).set('Idempotency-Key', key).send({ reason: 'dup' }).expect(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1`, [orderId]);
    expect(n).toBe(2);
  });

  it('scopes a key to its method and path', async () => {
    const key = newKey();
    const first = await placeOrder(app, customerId);
    const second = await placeOrder(app, customerId);
    await app.http().post(`/orders/${first}/cancel`).set('Idempotency-Key', key).send({ reason: 'a' }).expect(202);
    const other = await app.http().post(`/orders/${second}/cancel`).set('Idempotency-Key', key).send({ reason: 'a' }).expect(202);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
  });

  it('does not store a failed command, so a retry after the cause is fixed runs it', async () => {
    const orderId = await placeOrder(app, customerId);
    const key = newKey();
    const refused = await app.http().post(`/orders/${orderId}/ship`).set('Idempotency-Key', key).expect(409);
    expect(refused.body.code).toBe('ORDER_NOT_SHIPPABLE');
    await withCommandCause({ correlationId: 't', causationId: 't' }, () => app.app.get(CommandBus).execute(new ConfirmOrderCommand(orderId)));
    await app.http().post(`/orders/${orderId}/ship`).set('Idempotency-Key', key).expect(202);
    const replay = await app.http().post(`/orders/${orderId}/ship`).set('Idempotency-Key', key).expect(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
  });

  it('does not store an invalid request either', async () => {
    const key = newKey();
    await app.http().post('/users').set('Idempotency-Key', key).send({ email: 'nope', name: 'X' }).expect(400);
    await app.http().post('/users').set('Idempotency-Key', key).send({ email: uniqueEmail(), name: 'X' }).expect(201);
  });

  it.each([
    ['too long', 'k'.repeat(256)],
    ['with a space', 'two words'],
    ['with a non-ASCII character', 'clé'],
  ])('refuses a key %s with 400', async (_, key) => {
    const before = await countRows(app, 'events');
    const response = await app
      .http()
      .post('/users')
      .set('Idempotency-Key', encodeURI(key) === key ? key : Buffer.from(key, 'utf8').toString('latin1'))
      .send({ email: uniqueEmail(), name: 'X' })
      .expect(400);
    expect(response.body.code).toBe('INVALID_IDEMPOTENCY_KEY');
    expect(await countRows(app, 'events')).toBe(before);
  });
});

describe('event times', () => {
  it('records every event of concurrent commands, keyed or not, no earlier than it occurred', async () => {
    const keyed = Array.from({ length: 15 }, () =>
      app.http().post('/orders').set('Idempotency-Key', newKey()).send({ customerId, currency: 'EUR', lines: twoLines }).expect(202),
    );
    const registrations = Array.from({ length: 15 }, (_, i) =>
      app
        .http()
        .post('/users')
        .set('Idempotency-Key', newKey())
        .send({ email: uniqueEmail(`times${i}`), name: 'Times' })
        .expect(201),
    );
    const plain = Array.from({ length: 10 }, () => app.http().post('/orders').send({ customerId, currency: 'EUR', lines: twoLines }).expect(202));
    const [placed] = await Promise.all([Promise.all(keyed), Promise.all(registrations), Promise.all(plain)]);

    const [{ total, early }] = await app.db.query(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE recorded_at < (metadata->>'occurredAt')::timestamptz)::int AS early
       FROM events`,
    );
    expect(total).toBeGreaterThanOrEqual(40);
    expect(early).toBe(0);
    const stream = await app.http().get(`/streams/${placed[0].body.id}/events`).expect(200);
    for (const event of stream.body.events) {
      expect(Date.parse(event.recordedAt)).toBeGreaterThanOrEqual(Date.parse(event.metadata.occurredAt));
    }
  });
});
