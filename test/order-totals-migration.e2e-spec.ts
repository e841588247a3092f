import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { OrderTotalsAsMoney1765300000000 } from '../migrations/1765300000000-OrderTotalsAsMoney';
import { dropDatabase } from '../src/database/ensure-database';
import { EventStoreManifests, STORED_EVENT_COLUMNS, type StoredEvent, UnreadableEventVersionError } from '../src/event-store';
import { EVENT_STORE_MANIFESTS } from '../src/modules/manifests';
import { createTestDatabase } from './support/test-database';

/**
 * The upgrade that makes `total` Money in OrderConfirmed, OrderCancelled and OrderShipped
 * (migrations/1765300000000-OrderTotalsAsMoney.ts): a copy-transform of the stored rows, since the
 * currency is only in the order's OrderPlaced, which an upcaster of one event cannot see. The
 * rows are written as the previous version wrote them, with OrderPlaced of either schema version
 * (v1 until OrderPlaced v2, v2 since), into a database migrated up to the migration before.
 */
const MIGRATION = new OrderTotalsAsMoney1765300000000().name;
const BEFORE = migrations.slice(0, migrations.indexOf(OrderTotalsAsMoney1765300000000));
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

/** Runs `work` with a DataSource over every migration (its own connections, closed after). */
async function withMigrations<T>(work: (dataSource: DataSource) => Promise<T>): Promise<T> {
  const dataSource = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each' });
  await dataSource.initialize();
  try {
    return await work(dataSource);
  } finally {
    await dataSource.destroy();
  }
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
