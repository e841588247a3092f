/**
 * @exclusive fills 100,000 events and EXPLAINs under a workload: needs the cores and the disk
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { SEQUENCE_EVENTS_NUMBERING } from '../migrations/1765500000000-SequenceEventsBatchByPosition';
import { fillStore } from '../src/cli/store-filler';
import { EventStoreManifests, ProjectionRebuilder } from '../src/event-store';
import { EVENT_STORE_MANIFESTS } from '../src/modules/manifests';
import { dropDatabase } from '../src/database/ensure-database';
import { placeOrder, registerUser } from './support/fixtures';
import { captureStatements, CapturedStatement, explainableParts, explainBoth, outline, PlanFinding, sequentialScans } from './support/statement-plans';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { createMigratedDataSource } from './support/test-database';

/**
 * Enough for the planner to prefer the indexes, and filled in seconds. A smaller store only makes
 * a sequential scan more tempting to the planner, so a statement without a usable index is found
 * at any size; 300,000 took twice as long (8 s more of a run in which nothing else may run) and
 * found nothing more.
 */
const FILLED_EVENTS = 100_000;
/** Tables that grow with the store or with traffic: none of them may be read by a sequential scan. */
const GROWING_TABLES = ['events', 'users', 'credit_reservations', 'orders', 'order_summaries', 'reaction_receipts', 'idempotency_keys'];
/** Statements the app runs inside a function it calls: the capture sees only the call. */
const STATEMENTS_IN_FUNCTIONS: CapturedStatement[] = [{ text: SEQUENCE_EVENTS_NUMBERING, samples: [[100]], count: 1 }];

jest.setTimeout(240_000);

describe(`a store filled with ${FILLED_EVENTS.toLocaleString('en')} events (issue 10: cost that stays flat as it grows)`, () => {
  let url: string;
  let app: TestApp | undefined;

  beforeAll(async () => {
    const migrated = await createMigratedDataSource();
    url = migrated.url;
    await migrated.dataSource.destroy();
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const began = Date.now();
      const filled = await fillStore(client, { events: FILLED_EVENTS, chunkEvents: 50_000 });
      expect(filled.events).toBeGreaterThanOrEqual(FILLED_EVENTS);
      // Seconds, not minutes (about 50,000 events/s here).
      expect(Date.now() - began).toBeLessThan(60_000);
      // The other growing tables at a size where a scan would show: receipts of the saga's
      // events, idempotency keys of past requests.
      await client.query(
        `INSERT INTO reaction_receipts (subscription_id, event_id, step)
         SELECT 'reaction:order-fulfilment', event_id, '*' FROM events WHERE event_type IN ('CreditReserved', 'CreditRejected', 'UserDeactivated')
         UNION ALL
         SELECT 'reaction:order-credit', event_id, '*' FROM events WHERE event_type IN ('OrderPlaced', 'OrderShipped')`,
      );
      await client.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, response_status, created_at)
         SELECT 'POST /orders', 'key-' || n, md5(n::text), 202, now() - make_interval(secs => n) FROM generate_series(1, 100000) AS n`,
      );
      await client.query(`VACUUM (ANALYZE)`);
    } finally {
      await client.end();
    }
  });

  afterAll(async () => {
    await app?.close({ keepDatabase: true });
    await dropDatabase(url);
  });

  it('is the history the app would have written: the projection rebuilds from it to identical rows, the users rows fold from it', async () => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT count(*)::int AS streams FROM (SELECT stream_id FROM events GROUP BY stream_id HAVING max(stream_version) <> count(*)) AS gaps`,
      );
      expect(rows[0].streams).toBe(0);
      const { rows: positions } = await client.query(`SELECT max(global_position)::int AS head, count(*)::int AS events FROM events`);
      expect(positions[0].head).toBe(positions[0].events);
      // Every users row is what its stream's events leave (what a fold of them, as a projection
      // of users would make, reads): same fields, version and times.
      const { rows: users } = await client.query(
        `WITH folded AS (
           SELECT e.stream_id AS id, max(e.stream_version) AS version,
                  (array_agg(e.payload->>'email' ORDER BY e.stream_version DESC) FILTER (WHERE e.payload ? 'email'))[1] AS email,
                  (array_agg(e.payload->>'name') FILTER (WHERE e.event_type = 'UserRegistered'))[1] AS name,
                  (array_agg((e.payload->>'creditLimit')::bigint) FILTER (WHERE e.event_type = 'UserRegistered'))[1] AS credit_limit,
                  coalesce((array_agg((e.payload->>'creditReserved')::bigint ORDER BY e.stream_version DESC) FILTER (WHERE e.payload ? 'creditReserved'))[1], 0) AS credit_reserved,
                  CASE WHEN bool_or(e.event_type = 'UserDeactivated') THEN 'DEACTIVATED' ELSE 'ACTIVE' END AS status,
                  (array_agg((e.payload->>'registeredAt')::timestamptz) FILTER (WHERE e.event_type = 'UserRegistered'))[1] AS created_at,
                  (array_agg(coalesce(e.payload->>'changedAt', e.payload->>'deactivatedAt', e.payload->>'reservedAt', e.payload->>'releasedAt',
                                      e.payload->>'consumedAt', e.payload->>'rejectedAt', e.payload->>'registeredAt')::timestamptz
                             ORDER BY e.stream_version DESC))[1] AS updated_at
           FROM events e WHERE e.stream_type = 'User' GROUP BY e.stream_id
         )
         SELECT count(*)::int AS users,
                count(*) FILTER (WHERE (u.email, u.name, u.status, u.credit_limit, u.credit_reserved, u.version, u.created_at, u.updated_at)
                                       IS DISTINCT FROM (f.email, f.name, f.status, f.credit_limit, f.credit_reserved, f.version, f.created_at, f.updated_at))::int AS differ
         FROM users u FULL JOIN folded f ON f.id = u.id`,
      );
      expect(users[0].users).toBeGreaterThan(0);
      expect(users[0].differ).toBe(0);
      // Every open reservation is a row, the credit of a confirmed order not shipped or cancelled,
      // and each user's credit_reserved is the sum of its rows.
      const { rows: reservations } = await client.query(
        `SELECT (SELECT count(*) FROM credit_reservations)::int AS rows,
                (SELECT count(*) FROM users u WHERE u.credit_reserved <> coalesce((SELECT sum(amount) FROM credit_reservations r WHERE r.user_id = u.id), 0))::int AS drifted,
                (SELECT count(*) FROM orders o WHERE o.status = 'CONFIRMED'
                   AND NOT EXISTS (SELECT 1 FROM credit_reservations r WHERE (r.user_id, r.order_id, r.amount) = (o.customer_id, o.id, o.total)))::int AS missing,
                (SELECT count(*) FROM credit_reservations r WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = r.order_id AND o.status = 'CONFIRMED'))::int AS stray`,
      );
      expect(reservations[0]).toMatchObject({ drifted: 0, missing: 0, stray: 0 });
      expect(reservations[0].rows).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    const { DataSource } = await import('typeorm');
    const dataSource = new DataSource({ type: 'postgres', url, extra: { max: 3 } });
    await dataSource.initialize();
    try {
      const manifests = new EventStoreManifests(EVENT_STORE_MANIFESTS);
      const rebuilder = new ProjectionRebuilder(dataSource, manifests.eventUpcasters());
      for (const projection of manifests.projections) {
        const result = await rebuilder.rebuild(projection, { batchSize: 5000, acceptDifferences: false });
        expect({ projection: projection.name, differences: result.differences, swapped: result.swapped }).toMatchObject({
          projection: projection.name,
          swapped: true,
        });
      }
    } finally {
      await dataSource.destroy();
    }
  });

  it('starts an API that reads nothing old, and no statement it sends under a workload scans a growing table', async () => {
    const capture = captureStatements();
    let statements: CapturedStatement[];
    try {
      app = await startTestApp({
        databaseUrl: url,
        env: { ORDER_DEADLINE_POLL_MS: '50', EVENT_STORE_SAFETY_POLL_MS: '200' },
      });
      const started = app;
      // Every reader at the head at once: nothing of the filled history is read again.
      const health = await started.http().get('/health').expect(200);
      expect(lagsOf(health.body.details)).toEqual(Object.fromEntries(Object.keys(health.body.details.subscriptions.readers).map((id) => [id, 0])));

      await workload(started, capture.ignore);
      statements = capture.statements();
    } finally {
      capture.stop();
    }

    const client = new Client({ connectionString: url });
    await client.connect();
    const findings: PlanFinding[] = [];
    let explained = 0;
    try {
      for (const { text, samples } of [...statements, ...STATEMENTS_IN_FUNCTIONS]) {
        for (const part of explainableParts(text)) {
          // Parameters belong to the statement as sent; a multi-statement simple query has none.
          const sampleSets = part === text.trim() ? samples : [[]];
          for (const params of sampleSets) {
            for (const { mode, plan } of await explainBoth(client, part, params)) {
              explained += 1;
              const scans = sequentialScans(plan).filter((table) => GROWING_TABLES.includes(table));
              if (scans.length > 0) findings.push({ statement: part, mode, scans, plan: outline(plan) });
            }
          }
        }
      }
    } finally {
      await client.end();
    }
    // The workload reached every reader of the store, the writers, the deadline watcher and the HTTP reads.
    const texts = statements.map(({ text }) => text).join('\n');
    for (const table of GROWING_TABLES) expect(texts).toContain(table);
    expect(texts).toContain(`payload->>'orderId'`); // the deadline watcher's credit-answer check
    expect(texts).toContain('AS steps FROM reaction_receipts r'); // readReactionBatch
    expect(explained).toBeGreaterThan(40);
    expect(findings.map(({ statement, mode, scans, plan }) => `${mode} plan scans ${scans.join(', ')}:\n${statement}\n${plan}`)).toEqual([]);
  });
});

/** Commands and reads on filled and new aggregates: saga, deadlines, idempotency, projections, relay. */
async function workload(app: TestApp, own: (sql: string) => string): Promise<void> {
  const [filled] = await app.db.query(
    own(`SELECT (SELECT id FROM users WHERE status = 'ACTIVE' AND email LIKE 'fill-%' ORDER BY id LIMIT 1) AS customer,
            (SELECT id FROM orders WHERE status = 'CONFIRMED' ORDER BY id LIMIT 1) AS "toCancel",
            (SELECT id FROM orders WHERE status = 'CONFIRMED' ORDER BY id DESC LIMIT 1) AS "toShip",
            (SELECT id FROM orders WHERE status = 'CONFIRMED' ORDER BY id OFFSET 1 LIMIT 1) AS "overdue"`),
  );
  // A filled customer orders again: the saga reserves on its filled account.
  const orderIds = [];
  for (let i = 0; i < 5; i++) orderIds.push(await placeOrder(app, filled.customer, [{ sku: 'GROWTH-1', quantity: 1, unitPrice: 10 }]));
  await app.http().post(`/orders/${filled.toCancel}/cancel`).send({ reason: 'changed my mind' }).expect(202);
  await app.http().post(`/orders/${filled.toShip}/ship`).expect(202);

  // A new customer, with an Idempotency-Key replayed, an email change and a deactivation with an order pending.
  const customer = await registerUser(app, { creditLimit: 1_000 });
  const key = randomUUID();
  const body = { customerId: customer, currency: 'EUR', lines: [{ sku: 'GROWTH-2', quantity: 1, unitPrice: 400 }] };
  const first = await app.http().post('/orders').set('Idempotency-Key', key).send(body).expect(202);
  await app.http().post('/orders').set('Idempotency-Key', key).send(body).expect(202).expect('Idempotent-Replayed', 'true');
  orderIds.push(first.body.id, await placeOrder(app, customer, [{ sku: 'GROWTH-3', quantity: 1, unitPrice: 900 }]));
  await app.http().put(`/users/${customer}/email`).send({ email: `growth-${randomUUID().slice(0, 8)}@example.com` }).expect(204);

  for (const id of orderIds) {
    await eventually(async () => {
      const { body: order } = await app.http().get(`/orders/${id}`).expect(200);
      expect(order.status).not.toBe('PENDING');
    });
  }
  // The Users module's credit reaction waits until the customer is deactivated: otherwise it may
  // reserve first, and the order is confirmed before the deactivation commits.
  const creditReaction = `/admin/subscriptions/${encodeURIComponent('reaction:order-credit')}`;
  await app.http().post(`${creditReaction}/pause`).send({ reason: 'the order stays pending until its customer is deactivated' }).expect(200);
  const pending = await placeOrder(app, customer, [{ sku: 'GROWTH-4', quantity: 1, unitPrice: 1 }]);
  await app.http().post(`/users/${customer}/deactivate`).expect(204);
  await eventually(async () => expect((await app.http().get(`/orders/${pending}`).expect(200)).body.status).toBe('REJECTED'));
  await app.http().post(`${creditReaction}/resume`).expect(200);

  // A deadline due for an order still PENDING whose credit answer is recorded: the watcher's
  // check of the customer's stream finds it and drops the timeout. (The order is set back to
  // PENDING in its row only, as a stuck saga step would leave it.)
  await app.db.query(own(`UPDATE orders SET status = 'PENDING' WHERE id = $1`), [filled.overdue]);
  await app.db.query(
    own(`INSERT INTO order_deadlines (order_id, due_at, causation_id, correlation_id) VALUES ($1, now() - interval '1 second', $2, 'growth')`),
    [filled.overdue, randomUUID()],
  );
  await eventually(async () => expect(await app.db.query(own(`SELECT 1 FROM order_deadlines WHERE order_id = $1`), [filled.overdue])).toHaveLength(0));
  await app.db.query(own(`UPDATE orders SET status = 'CONFIRMED' WHERE id = $1`), [filled.overdue]);

  // Reads: lists (by customer, status, cursor), a stream, a user, health.
  const page = await app.http().get(`/orders?customerId=${filled.customer}&limit=5`).expect(200);
  if (page.body.nextCursor) await app.http().get(`/orders?customerId=${filled.customer}&limit=5&cursor=${encodeURIComponent(page.body.nextCursor)}`).expect(200);
  await app.http().get(`/orders?status=CONFIRMED&limit=5`).expect(200);
  await app.http().get(`/orders?limit=5`).expect(200);
  await app.http().get(`/streams/${filled.customer}/events`).expect(200);
  await app.http().get(`/users/${filled.customer}`).expect(200);
  // Every reader back at the head: the projections, the relay and the saga read what the workload wrote.
  await eventually(async () => {
    const health = await app.http().get('/health').expect(200);
    expect(lagsOf(health.body.details)).toEqual(Object.fromEntries(Object.keys(health.body.details.subscriptions.readers).map((id) => [id, 0])));
  }, 20_000);
}

function lagsOf(health: { subscriptions: { readers: Record<string, { lagEvents: number }> } }): Record<string, number> {
  return Object.fromEntries(Object.entries(health.subscriptions.readers).map(([id, reader]) => [id, reader.lagEvents]));
}
