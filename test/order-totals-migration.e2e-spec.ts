import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { OrderTotalsAsMoney1765300000000 } from '../migrations/1765300000000-OrderTotalsAsMoney';
import { dropDatabase } from '../src/database/ensure-database';
import { EventStoreManifests, STORED_EVENT_COLUMNS, type StoredEvent, UnreadableEventVersionError } from '../src/event-store';
import { EVENT_STORE_MANIFESTS } from '../src/modules/manifests';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { createTestDatabase, undoMigrationsDownTo, withMigrationsOn } from './support/test-database';

/**
 * The upgrade that makes `total` Money in OrderConfirmed, OrderCancelled and OrderShipped
 * (migrations/1765300000000-OrderTotalsAsMoney.ts): a copy-transform of the stored rows, since the
 * currency is only in the order's OrderPlaced, which an upcaster of one event cannot see. The
 * rows are written as the previous version wrote them, with OrderPlaced of either schema version
 * (v1 until OrderPlaced v2, v2 since), into a database migrated up to the migration before.
 */
const MIGRATION = new OrderTotalsAsMoney1765300000000().name;
const BEFORE = migrations.slice(0, migrations.indexOf(OrderTotalsAsMoney1765300000000));
/** Through the one under test: the later ones are other upgrades' (the API applies them at its start). */
const THROUGH = migrations.slice(0, migrations.indexOf(OrderTotalsAsMoney1765300000000) + 1);
const TYPES = ['OrderConfirmed', 'OrderCancelled', 'OrderShipped'];

let url: string;
let db: Client;
let nextGlobalPosition = 1;

beforeAll(async () => {
  url = await createTestDatabase();
  const dataSource = new DataSource({ type: 'postgres', url, migrations: BEFORE, migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations();
  } finally {
    await dataSource.destroy();
  }
  db = new Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  if (url) await dropDatabase(url);
});

/** Runs `work` with a DataSource over `known` (through the one under test unless told) on `at` (this file's database by default; its own connections, closed after). */
function withMigrations<T>(work: (dataSource: DataSource) => Promise<T>, at = url, known = THROUGH): Promise<T> {
  return withMigrationsOn(at, known, work);
}

interface Row {
  position: string;
  global_position: string | null;
  event_id: string;
  stream_type: string;
  stream_id: string;
  stream_version: number;
  event_type: string;
  schema_version: number;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
  recorded_at: Date;
}

/** Every stored row, every column. */
async function allRows(): Promise<Row[]> {
  const { rows } = await db.query(`SELECT * FROM events ORDER BY position`);
  return rows;
}

/** Appends one event as a writer of its schema version did, numbered as the sequencer would. */
async function append(streamId: string, streamVersion: number, eventType: string, schemaVersion: number, payload: object, streamType = 'Order'): Promise<string> {
  const eventId = randomUUID();
  const at = new Date(Date.UTC(2026, 10, 1, 12, 0, nextGlobalPosition)).toISOString();
  await db.query(
    `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata, recorded_at, global_position)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      eventId,
      streamType,
      streamId,
      streamVersion,
      eventType,
      schemaVersion,
      JSON.stringify(payload),
      JSON.stringify({ correlationId: `corr-${streamId}`, causationId: `cause-${nextGlobalPosition}`, occurredAt: at, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
      at,
      nextGlobalPosition++,
    ],
  );
  return eventId;
}

const line = (unitPrice: number, quantity = 1) => [{ sku: 'SKU-1', quantity, unitPrice }];

/** An order's history as the previous version wrote it: OrderPlaced at `placedVersion`, then v1 status changes with a bare total. */
async function legacyOrder(currency: string, total: number, placedVersion: 1 | 2, then: Array<'OrderConfirmed' | 'OrderShipped' | 'OrderCancelled' | 'OrderRejected'>) {
  const orderId = randomUUID();
  const customerId = randomUUID();
  const placedAt = '2026-11-01T12:00:00.000Z';
  const placed =
    placedVersion === 1
      ? { orderId, customerId, currency, lines: line(total), total, placedAt }
      : { orderId, customerId, lines: line(total), total: { amount: total, currency }, placedAt };
  await append(orderId, 1, 'OrderPlaced', placedVersion, placed);
  let confirmed = false;
  for (const [index, type] of then.entries()) {
    const at = `2026-11-01T12:0${index + 1}:00.000Z`;
    const payload =
      type === 'OrderConfirmed'
        ? { orderId, customerId, total, confirmedAt: at }
        : type === 'OrderShipped'
          ? { orderId, customerId, total, shippedAt: at }
          : type === 'OrderCancelled'
            ? { orderId, customerId, reason: 'changed my mind', previousStatus: confirmed ? 'CONFIRMED' : 'PENDING', total, cancelledAt: at }
            : { orderId, customerId, reason: 'insufficient credit', rejectedAt: at };
    if (type === 'OrderConfirmed') confirmed = true;
    await append(orderId, index + 2, type, 1, payload);
  }
  return { orderId, customerId };
}

const isTarget = (row: Row) => TYPES.includes(row.event_type);

describe('migration OrderTotalsAsMoney', () => {
  let original: Row[];
  const currencyOf = new Map<string, string>();

  it('rewrites every v1 total as Money in its order’s currency, from a v1 or a v2 OrderPlaced, and changes nothing else', async () => {
    const yen = await legacyOrder('JPY', 1_350, 1, ['OrderConfirmed', 'OrderShipped']);
    const dollars = await legacyOrder('USD', 700, 2, ['OrderConfirmed', 'OrderCancelled']);
    const pounds = await legacyOrder('GBP', 42, 1, ['OrderCancelled']);
    const rejected = await legacyOrder('EUR', 99, 2, ['OrderRejected']);
    const pending = await legacyOrder('CHF', 5, 2, []);
    const user = randomUUID();
    await append(user, 1, 'UserRegistered', 1, { userId: user, email: 'a@example.com', name: 'A', creditLimit: 1000, registeredAt: '2026-11-01T12:00:00.000Z' }, 'User');
    for (const [order, currency] of [
      [yen, 'JPY'],
      [dollars, 'USD'],
      [pounds, 'GBP'],
      [rejected, 'EUR'],
      [pending, 'CHF'],
    ] as const) {
      currencyOf.set(order.orderId, currency);
    }
    original = await allRows();
    expect(original.filter(isTarget)).toHaveLength(5);

    const applied = await withMigrations((dataSource) => dataSource.runMigrations());

    expect(applied.map((migration) => migration.name)).toEqual([MIGRATION]);
    const migrated = await allRows();
    expect(migrated).toHaveLength(original.length);
    for (const [index, before] of original.entries()) {
      // Same id, position, global position, stream, version, type, metadata and time, in the same order.
      const after = migrated[index];
      if (!isTarget(before)) {
        expect(after).toEqual(before);
        continue;
      }
      expect(after).toEqual({
        ...before,
        schema_version: 2,
        payload: { ...before.payload, total: { amount: before.payload.total, currency: currencyOf.get(before.stream_id) } },
      });
    }
    // Spelled out for two of them.
    const yenShipped = migrated.find((row) => row.stream_id === yen.orderId && row.event_type === 'OrderShipped');
    expect(yenShipped).toMatchObject({ schema_version: 2, payload: { orderId: yen.orderId, customerId: yen.customerId, total: { amount: 1_350, currency: 'JPY' } } });
    const dollarsCancelled = migrated.find((row) => row.stream_id === dollars.orderId && row.event_type === 'OrderCancelled');
    expect(dollarsCancelled?.payload).toEqual({
      orderId: dollars.orderId,
      customerId: dollars.customerId,
      reason: 'changed my mind',
      previousStatus: 'CONFIRMED',
      total: { amount: 700, currency: 'USD' },
      cancelledAt: '2026-11-01T12:02:00.000Z',
    });
  });

  it('leaves rows the current code reads, publishing the unchanged v1 contracts', async () => {
    const manifests = new EventStoreManifests(EVENT_STORE_MANIFESTS);
    const upcasters = manifests.eventUpcasters();
    const { rows } = await db.query(`SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE stream_type = 'Order' ORDER BY position`);
    const published = (rows as StoredEvent[]).map((row) => manifests.toIntegrationEvent(upcasters.upcast(row)));
    const byType = (type: string) => published.filter((event) => event?.type === type).map((event) => (event?.data as { total: number }).total);

    expect(byType('com.example.orders.order-confirmed.v1')).toEqual([1_350, 700]);
    expect(byType('com.example.orders.order-shipped.v1')).toEqual([1_350]);
    expect(byType('com.example.orders.order-cancelled.v1')).toEqual([700, 42]);
  });

  it('refuses a v1 row written after it (a process of the previous version still running), and the readers refuse one that got in anyway', async () => {
    const [placed] = original;
    const write = (schemaVersion: number, total: unknown) =>
      db.query(
        `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
         VALUES ($1, 'Order', $2, 99, 'OrderShipped', $3, $4, '{}')`,
        [randomUUID(), placed.stream_id, schemaVersion, JSON.stringify({ orderId: placed.stream_id, customerId: 'c', total, shippedAt: '2026-11-02T00:00:00.000Z' })],
      );

    await expect(write(1, 1_350)).rejects.toMatchObject({ code: '23514', constraint: 'events_order_totals_are_money' });
    // schema_version left out: the column's default (1) is refused too.
    await expect(
      db.query(`INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata) VALUES ($1, 'Order', $2, 99, 'OrderConfirmed', '{}', '{}')`, [
        randomUUID(),
        placed.stream_id,
      ]),
    ).rejects.toMatchObject({ code: '23514' });

    // Read as the v1 row it was (such a row, had it got in), the app's readers refuse it rather than pass a bare total on.
    const { rows } = await db.query(`SELECT ${STORED_EVENT_COLUMNS} FROM events WHERE event_type = 'OrderShipped'`);
    const [shipped] = rows as StoredEvent[];
    const asV1 = { ...shipped, schemaVersion: 1, payload: { ...shipped.payload, total: 1_350 } };
    expect(() => new EventStoreManifests(EVENT_STORE_MANIFESTS).eventUpcasters().upcast(asV1)).toThrow(UnreadableEventVersionError);
  });

  it('down gives every row back exactly as it was, and makes rows written since v1 again', async () => {
    // The current code confirms the pending order after the upgrade: a v2 row.
    const pending = original.find((row) => row.event_type === 'OrderPlaced' && currencyOf.get(row.stream_id) === 'CHF')!;
    const confirmedSince = await append(pending.stream_id, 2, 'OrderConfirmed', 2, {
      orderId: pending.stream_id,
      customerId: pending.payload.customerId,
      total: { amount: 5, currency: 'CHF' },
      confirmedAt: '2026-11-03T00:00:00.000Z',
    });

    await withMigrations((dataSource) => dataSource.undoLastMigration({ transaction: 'each' }));

    const rows = await allRows();
    expect(rows.slice(0, original.length)).toEqual(original);
    expect(rows.slice(original.length)).toEqual([
      expect.objectContaining({
        event_id: confirmedSince,
        schema_version: 1,
        payload: { orderId: pending.stream_id, customerId: pending.payload.customerId, total: 5, confirmedAt: '2026-11-03T00:00:00.000Z' },
      }),
    ]);
    const { rows: constraints } = await db.query(`SELECT conname FROM pg_constraint WHERE conname = 'events_order_totals_are_money'`);
    expect(constraints).toEqual([]);
    const { rows: executed } = await db.query(`SELECT name FROM migrations WHERE name = $1`, [MIGRATION]);
    expect(executed).toEqual([]);
  });

  it('refuses while a process of the previous version runs (it holds the user-profiles projection\'s lock), changing nothing', async () => {
    const stream = randomUUID();
    await append(stream, 1, 'OrderPlaced', 2, { orderId: stream, customerId: 'c', lines: line(30), total: { amount: 30, currency: 'EUR' }, placedAt: '2026-11-04T00:00:00.000Z' });
    await append(stream, 2, 'OrderConfirmed', 1, { orderId: stream, customerId: 'c', total: 30, confirmedAt: '2026-11-04T00:00:00.000Z' });
    await db.query(`INSERT INTO subscription_checkpoints (subscription_id, segment, segments, global_position) VALUES ('projection:user-profiles', 0, 1, 0)`);
    const before = await allRows();
    const previousVersion = new Client({ connectionString: url });
    await previousVersion.connect();
    try {
      // As SubscriptionLeases takes it in every process running the projection.
      await previousVersion.query(`SELECT pg_advisory_lock_shared(hashtext('projection:user-profiles/1'), 1)`);
      await expect(withMigrations((dataSource) => dataSource.runMigrations())).rejects.toThrow(/stop the API processes of the previous version/);
      expect(await allRows()).toEqual(before);
      const { rows: executed } = await db.query(`SELECT name FROM migrations WHERE name = $1`, [MIGRATION]);
      expect(executed).toEqual([]);
    } finally {
      await previousVersion.end();
      await db.query(`DELETE FROM subscription_checkpoints WHERE subscription_id = 'projection:user-profiles'`);
      await db.query(`DELETE FROM events WHERE stream_id = $1`, [stream]);
    }
  });

  it('refuses an order stream without an OrderPlaced carrying a currency, naming its events and changing nothing', async () => {
    const orphan = randomUUID();
    const orphanShipped = await append(orphan, 3, 'OrderShipped', 1, { orderId: orphan, customerId: 'c', total: 10, shippedAt: '2026-11-04T00:00:00.000Z' });
    const broken = randomUUID();
    await append(broken, 1, 'OrderPlaced', 2, { orderId: broken, customerId: 'c', lines: line(20), total: { amount: 20 }, placedAt: '2026-11-04T00:00:00.000Z' });
    const brokenConfirmed = await append(broken, 2, 'OrderConfirmed', 1, { orderId: broken, customerId: 'c', total: 20, confirmedAt: '2026-11-04T00:00:00.000Z' });
    const before = await allRows();

    const refusal = withMigrations((dataSource) => dataSource.runMigrations());

    await expect(refusal).rejects.toThrow(/OrderTotalsAsMoney: 2 OrderConfirmed\/OrderCancelled\/OrderShipped event\(s\) of schema version 1 have no OrderPlaced with a currency/);
    await expect(refusal).rejects.toThrow(`OrderShipped ${orphanShipped} of stream ${orphan}, OrderConfirmed ${brokenConfirmed} of stream ${broken}`);
    expect(await allRows()).toEqual(before);
    const { rows: executed } = await db.query(`SELECT name FROM migrations WHERE name = $1`, [MIGRATION]);
    expect(executed).toEqual([]);

    // Those streams mended (here: taken away), it runs.
    await db.query(`DELETE FROM events WHERE stream_id = ANY($1::uuid[])`, [[orphan, broken]]);
    const applied = await withMigrations((dataSource) => dataSource.runMigrations());
    expect(applied.map((migration) => migration.name)).toEqual([MIGRATION]);
    const { rows: left } = await db.query(`SELECT count(*)::int AS n FROM events WHERE event_type = ANY($1::text[]) AND schema_version = 1`, [TYPES]);
    expect(left).toEqual([{ n: 0 }]);
  });
});

describe('the upgrade on what the API wrote', () => {
  const ENV = { REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' };

  it('the API writes v2 totals in the order’s currency; down makes them the previous version’s rows, and the next start migrates them back', async () => {
    let app: TestApp = await startTestApp({ env: ENV });
    const at = app.databaseUrl;
    const { brokerPrefix } = app;
    let open = true;
    try {
      const customer = await registerUser(app, { creditLimit: 100_000 });
      const place = async (currency: string): Promise<string> =>
        (await app.http().post('/orders').send({ customerId: customer, currency, lines: [{ sku: 'UP-1', quantity: 3, unitPrice: 450 }] }).expect(202)).body.id;
      const statusOf = async (orderId: string): Promise<string> => (await app.http().get(`/orders/${orderId}`).expect(200)).body.status;
      const shipped = await place('JPY');
      const cancelled = await place('USD');
      await eventually(async () => expect([await statusOf(shipped), await statusOf(cancelled)]).toEqual(['CONFIRMED', 'CONFIRMED']), 15_000);
      await app.http().post(`/orders/${shipped}/ship`).send({}).expect(202);
      await app.http().post(`/orders/${cancelled}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      const rowsOf = async (): Promise<Row[]> =>
        app.db.query(`SELECT * FROM events WHERE stream_id = ANY($1::uuid[]) ORDER BY position`, [[shipped, cancelled]]);
      const written = await eventually(async () => {
        const rows = await rowsOf();
        expect(rows.filter(isTarget)).toHaveLength(4);
        expect(rows.every((row) => row.global_position !== null)).toBe(true);
        return rows;
      });
      const yen = { amount: 1_350, currency: 'JPY' };
      const dollars = { amount: 1_350, currency: 'USD' };
      expect(written.filter(isTarget).map((row) => [row.stream_id, row.event_type, row.schema_version, row.payload.total])).toEqual(
        expect.arrayContaining([
          [shipped, 'OrderConfirmed', 2, yen],
          [shipped, 'OrderShipped', 2, yen],
          [cancelled, 'OrderConfirmed', 2, dollars],
          [cancelled, 'OrderCancelled', 2, dollars],
        ]),
      );
      await app.close({ keepDatabase: true });
      open = false;

      // Down: what the previous version would have written, and reads.
      await withMigrations((dataSource) => undoMigrationsDownTo(dataSource, new OrderTotalsAsMoney1765300000000()), at, migrations);
      const client = new Client({ connectionString: at });
      await client.connect();
      try {
        const { rows: previous } = await client.query(`SELECT * FROM events WHERE stream_id = ANY($1::uuid[]) ORDER BY position`, [[shipped, cancelled]]);
        expect(previous).toEqual(
          written.map((row) => (isTarget(row) ? { ...row, schema_version: 1, payload: { ...row.payload, total: (row.payload.total as { amount: number }).amount } } : row)),
        );
      } finally {
        await client.end();
      }

      // The next start migrates them back to exactly what the API wrote, and goes on from there.
      app = await startTestApp({ databaseUrl: at, brokerPrefix, env: ENV });
      open = true;
      expect(await rowsOf()).toEqual(written);
      const stream = (await app.http().get(`/streams/${shipped}/events`).expect(200)).body.events;
      expect(stream.map((event: { type: string; schemaVersion: number }) => [event.type, event.schemaVersion])).toEqual([
        ['OrderPlaced', 2],
        ['OrderConfirmed', 2],
        ['OrderShipped', 2],
      ]);

      // A v1 row that got in anyway (here the constraint is dropped by hand): the readers stop or park at it, saying why.
      const stranded = await place('EUR');
      await eventually(async () => expect(await statusOf(stranded)).toBe('CONFIRMED'), 15_000);
      await app.db.query(`ALTER TABLE events DROP CONSTRAINT events_order_totals_are_money`);
      const [{ event_id: strandedShipped }] = await app.db.query(
        `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
         VALUES (gen_random_uuid(), 'Order', $1, 3, 'OrderShipped', 1, $2, '{"correlationId":"old","causationId":"old","occurredAt":"2026-11-05T00:00:00.000Z"}')
         RETURNING event_id`,
        [stranded, JSON.stringify({ orderId: stranded, customerId: customer, total: 1_350, shippedAt: '2026-11-05T00:00:00.000Z' })],
      );
      await app.db.query(`SELECT pg_notify('events_appended', '')`);
      const unreadable = /OrderShipped .* is stored at schema version 1, and this code reads OrderShipped only at v2/;
      await eventually(async () => {
        const stopped = await app.db.query(
          `SELECT subscription_id, failing_event_id, last_error FROM subscription_checkpoints
           WHERE subscription_id = ANY($1::text[]) ORDER BY subscription_id`,
          [['projection:order-summaries', 'reaction:order-fulfilment', 'relay:integration-events']],
        );
        // The readers of OrderShipped stop exactly at it; a reader of other types does not.
        expect(stopped).toEqual([
          { subscription_id: 'projection:order-summaries', failing_event_id: strandedShipped, last_error: expect.stringMatching(unreadable) },
          { subscription_id: 'reaction:order-fulfilment', failing_event_id: null, last_error: null },
          { subscription_id: 'relay:integration-events', failing_event_id: strandedShipped, last_error: expect.stringMatching(unreadable) },
        ]);
        // The Users module's credit reaction reads OrderShipped: it cannot tell which of its steps the event is for, so each is parked.
        const parked: Array<{ reaction: string; step: string; last_error: string }> = await app.db.query(
          `SELECT reaction, step, last_error FROM parked_reactions WHERE event_id = $1 ORDER BY step`,
          [strandedShipped],
        );
        expect(parked.map(({ step }) => step)).toContain('consumeCreditOfShippedOrder');
        expect(parked.every(({ reaction, last_error }) => reaction === 'reaction:order-credit' && unreadable.test(last_error))).toBe(true);
      }, 20_000);
      // The saga's readers go on past it: an order placed after it is decided.
      const after = await place('EUR');
      await eventually(async () => expect(await statusOf(after)).toBe('CONFIRMED'), 15_000);
    } finally {
      if (open) await app.close();
      else await dropDatabase(at);
    }
  }, 120_000);
});
