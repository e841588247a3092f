import { v7 as uuidV7 } from 'uuid';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EventStoreManifests, SEQUENCER_LOCK_KEY } from '../event-store';
import { RELAY_CHECKPOINT } from '../messaging/relay/outbox-relay';
import { ORDER_STREAM_TYPE } from '../modules/orders';
import { USER_STREAM_TYPE } from '../modules/users';
import { EVENT_STORE_MANIFESTS } from '../modules/manifests';

/**
 * Fills a migrated project database with a long history of realistic Users and Orders streams
 * through PostgreSQL COPY, as if the API had taken the commands and every reader had processed
 * every event: the events (numbered, `global_position` contiguous after the current head, as the
 * EventSequencer hands them out), the write models (`users`, `orders`) in the state those events
 * leave, the projection (`order_summaries`) as its projector would have folded it, and every
 * checkpoint at the new head. An API started on it reads nothing old.
 *
 * Each customer's history is what the app writes for it: UserRegistered, then orders placed over
 * HTTP, each answered by the order saga (CreditReserved → OrderConfirmed, or CreditRejected
 * 'insufficient credit' → OrderRejected), most confirmed orders shipped (OrderShipped →
 * CreditConsumed) or cancelled (OrderCancelled → CreditReleased), some email changes, a few
 * deactivations; correlation and causation ids as the HTTP layer and the saga set them. Payloads
 * and rows follow src/modules/{users,orders}/domain, which the e2e test (store-growth) checks by
 * rebuilding the projection from the filled events (identical rows) and running commands on
 * filled aggregates.
 *
 * Histories of several customers interleave in the store, and each chunk (one transaction: the
 * COPYs, the checkpoints and the progress row) holds whole histories, so the database is
 * consistent after every commit. Restartable: `store_fill_progress` records where the fill is,
 * and a run that finds it continues from there (an interrupted chunk was rolled back).
 *
 * Reaction receipts are not written: with the reaction's checkpoint at the head nothing before it
 * is read again, and `starts_after` moves with the head, so even a checkpoint reset to 0 does not
 * replay the filled history (the same rule as for a reaction created at the head).
 */
export interface FillOptions {
  /** Events the store should hold from the fill when done (rounded up to whole customer histories). */
  events: number;
  /** Events per transaction, about. */
  chunkEvents?: number;
  /** Customer histories interleaved at any moment. */
  interleave?: number;
  /** Called after each chunk. */
  onProgress?: (progress: FillProgress) => void;
}

export interface FillProgress {
  /** Events written by the fill so far (all runs). */
  events: number;
  target: number;
  customers: number;
  /** Events written by this run, and how long it has been running. */
  eventsThisRun: number;
  elapsedMs: number;
}

export const FILL_PROGRESS_TABLE = 'store_fill_progress';
/** Spacing of the filled events' times: the history ends about now. */
const EVENT_SPACING_MS = 5;

interface ProgressRow {
  target: number;
  events: number;
  customers: number;
  head: string;
  clockStart: Date;
}

/** Fills the store (see above); returns the progress at the end. The client must not be in a transaction. */
export async function fillStore(client: ClientBase, options: FillOptions): Promise<FillProgress> {
  const chunkEvents = options.chunkEvents ?? 50_000;
  const interleave = options.interleave ?? 32;
  let progress = await startOrResume(client, options.events);
  const began = Date.now();
  let eventsThisRun = 0;
  const report = (): FillProgress => ({
    events: progress.events,
    target: progress.target,
    customers: progress.customers,
    eventsThisRun,
    elapsedMs: Date.now() - began,
  });

  while (progress.events < progress.target) {
    const remaining = progress.target - progress.events;
    const written = await fillChunk(client, progress, Math.min(chunkEvents, remaining), interleave);
    progress = written;
    eventsThisRun += written.chunkEvents;
    options.onProgress?.(report());
  }
  return report();
}

async function startOrResume(client: ClientBase, target: number): Promise<ProgressRow> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${FILL_PROGRESS_TABLE} (
      id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
      target      bigint      NOT NULL,
      events      bigint      NOT NULL,
      customers   bigint      NOT NULL,
      head        bigint      NOT NULL,
      clock_start timestamptz NOT NULL,
      updated_at  timestamptz NOT NULL DEFAULT now()
    )`);
  const { rows } = await client.query(
    `SELECT target::float8 AS target, events::float8 AS events, customers::float8 AS customers, head::text AS head, clock_start AS "clockStart"
     FROM ${FILL_PROGRESS_TABLE}`,
  );
  const [state] = (
    await client.query(
      `SELECT coalesce((SELECT max(global_position) FROM events), 0)::text AS head,
              EXISTS (SELECT 1 FROM events WHERE global_position IS NULL) AS unnumbered,
              coalesce((SELECT json_agg(subscription_id) FROM subscription_checkpoints
                        WHERE global_position <> coalesce((SELECT max(global_position) FROM events), 0)), '[]') AS behind`,
    )
  ).rows as Array<{ head: string; unnumbered: boolean; behind: string[] }>;
  // The fill moves every checkpoint with the head: a reader behind it would then read filled
  // events as new (a reaction acting on them again), and an event not numbered yet would be
  // numbered after the filled ones.
  if (state.unnumbered) throw new Error('the store holds events not numbered yet: start the API once to number them, stop it, then fill');
  if (state.behind.length > 0) throw new Error(`readers are behind the head (${state.behind.join(', ')}): let them catch up, stop the API, then fill`);

  const existing = rows[0] as ProgressRow | undefined;
  if (existing) {
    if (existing.head !== state.head) throw new Error(`the store's head moved since the last fill (${existing.head} → ${state.head}): it was used in between`);
    if (target > existing.target) {
      await client.query(`UPDATE ${FILL_PROGRESS_TABLE} SET target = $1`, [target]);
      existing.target = target;
    }
    return existing;
  }

  // Every reader the API creates at the beginning of the store must exist already, at the head;
  // reactions create theirs at the head themselves.
  if (state.head === '0') {
    for (const subscriptionId of [...new EventStoreManifests(EVENT_STORE_MANIFESTS).projections.map((projection) => projection.subscriptionId), RELAY_CHECKPOINT]) {
      await client.query(`INSERT INTO subscription_checkpoints (subscription_id) VALUES ($1) ON CONFLICT DO NOTHING`, [subscriptionId]);
    }
  }
  const created = {
    target,
    events: 0,
    customers: 0,
    head: state.head,
    clockStart: new Date(Date.now() - target * EVENT_SPACING_MS),
  };
  await client.query(`INSERT INTO ${FILL_PROGRESS_TABLE} (target, events, customers, head, clock_start) VALUES ($1, 0, 0, $2, $3)`, [
    target,
    created.head,
    created.clockStart,
  ]);
  return created;
}

/** One transaction: whole customer histories of about `events` events, their rows, the checkpoints, the progress. */
async function fillChunk(client: ClientBase, progress: ProgressRow, events: number, interleave: number): Promise<ProgressRow & { chunkEvents: number }> {
  const history = new History(progress, events, interleave);
  await client.query('BEGIN');
  try {
    // Fenced like a sequencing transaction: no sequencer numbers anything while the chunk is written.
    await client.query(`SELECT pg_advisory_xact_lock($1::bigint)`, [SEQUENCER_LOCK_KEY]);
    await copyRows(client, `COPY events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata, recorded_at, global_position) FROM STDIN`, history.events());
    await copyRows(client, `COPY users (id, email, name, status, credit_limit, credit_reserved, version, created_at, updated_at) FROM STDIN`, history.users.map(userRow));
    await copyRows(client, `COPY credit_reservations (user_id, order_id, amount) FROM STDIN`, history.users.flatMap(reservationRows));
    await copyRows(client, `COPY orders (id, customer_id, status, currency, lines, total, rejection_reason, version, created_at, updated_at) FROM STDIN`, history.orders.map(orderRow));
    await copyRows(client, `COPY order_summaries (id, customer_id, status, currency, lines, total, rejection_reason, version, created_at, updated_at) FROM STDIN`, history.orders.map(orderRow));
    const head = (BigInt(progress.head) + BigInt(history.written)).toString();
    // Every reader was at the old head: it has now processed the filled events. A reaction's
    // `starts_after` follows, as no receipt records what it did with them.
    await client.query(
      `UPDATE subscription_checkpoints SET global_position = $2::bigint, updated_at = now(),
         starts_after = CASE WHEN subscription_id LIKE 'reaction:%' THEN $2::bigint ELSE starts_after END
       WHERE global_position = $1::bigint`,
      [progress.head, head],
    );
    const next = { ...progress, events: progress.events + history.written, customers: progress.customers + history.customerCount, head };
    await client.query(`UPDATE ${FILL_PROGRESS_TABLE} SET events = $1, customers = $2, head = $3, updated_at = now()`, [next.events, next.customers, next.head]);
    await client.query(`SELECT pg_notify('events_sequenced', $1)`, [head]);
    await client.query('COMMIT');
    return { ...next, chunkEvents: history.written };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Streams rows (already in COPY text format, one per line) into a COPY … FROM STDIN. */
async function copyRows(client: ClientBase, sql: string, rows: Iterable<string>): Promise<void> {
  const stream = client.query(copyFrom(sql));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  let buffer = '';
  for (const row of rows) {
    buffer += row;
    if (buffer.length >= 1 << 16) {
      if (!stream.write(buffer)) await new Promise<void>((resolve, reject) => {
        stream.once('drain', resolve);
        stream.once('error', reject);
      });
      buffer = '';
    }
  }
  stream.end(buffer);
  await done;
}

/** A value in COPY's text format. */
function text(value: string | number | null): string {
  if (value === null) return '\\N';
  const s = String(value);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : s;
}

function line(values: Array<string | number | null>): string {
  return values.map(text).join('\t') + '\n';
}

interface UserState {
  id: string;
  email: string;
  name: string;
  status: 'ACTIVE' | 'DEACTIVATED';
  creditLimit: number;
  creditReserved: number;
  creditReservations: Record<string, number>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface OrderState {
  id: string;
  customerId: string;
  status: 'PENDING' | 'CONFIRMED' | 'REJECTED' | 'CANCELLED' | 'SHIPPED';
  currency: string;
  lines: Array<{ sku: string; quantity: number; unitPrice: number }>;
  total: number;
  rejectionReason: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

function userRow(u: UserState): string {
  return line([u.id, u.email, u.name, u.status, u.creditLimit, u.creditReserved, u.version, u.createdAt, u.updatedAt]);
}

function reservationRows(u: UserState): string[] {
  return Object.entries(u.creditReservations).map(([orderId, amount]) => line([u.id, orderId, amount]));
}

function orderRow(o: OrderState): string {
  return line([o.id, o.customerId, o.status, o.currency, JSON.stringify(o.lines), o.total, o.rejectionReason, o.version, o.createdAt, o.updatedAt]);
}

/** An event one step of a history appends; its time is given when it is written. */
interface PendingEvent {
  streamType: string;
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  /** Builds the payload at the event's time and applies the event to the aggregate's state. */
  apply(at: string): Record<string, unknown>;
  correlationId: string;
  /** The causing event (a saga step), or none: an HTTP request, whose id is both. */
  causedBy?: { eventId?: string };
  /** Filled in when written, so later steps can name it as their cause. */
  eventId?: string;
}

const CREDIT_LIMITS = [50_000, 100_000, 100_000, 100_000, 250_000, 1_000_000];
const SKUS = 500;

/**
 * The histories of one chunk, written event by event in an interleaved order; `users` and
 * `orders` hold the final rows once `events()` has been consumed.
 */
class History {
  readonly users: UserState[] = [];
  readonly orders: OrderState[] = [];
  written = 0;
  customerCount = 0;
  /** The time of the event being made: ids are UUIDv7 of it, as the app's would have been then. */
  private nowMs = 0;

  constructor(
    private readonly progress: ProgressRow,
    private readonly budget: number,
    private readonly interleave: number,
  ) {}

  *events(): Generator<string> {
    const clockStart = this.progress.clockStart.getTime();
    const firstIndex = this.progress.events;
    const head = BigInt(this.progress.head);
    const active: Array<Generator<PendingEvent, void, void>> = [];
    let planned = 0;
    const startCustomers = () => {
      // Histories start while the chunk's budget lasts; each is written to its end.
      while (active.length < this.interleave && planned < this.budget) {
        const { script, expected } = this.customer(this.progress.customers + this.customerCount);
        this.customerCount += 1;
        planned += expected;
        active.push(script);
      }
    };
    startCustomers();
    while (active.length > 0) {
      const slot = Math.floor(Math.random() * active.length);
      this.nowMs = clockStart + (firstIndex + this.written) * EVENT_SPACING_MS;
      const next = active[slot].next();
      if (next.done) {
        active.splice(slot, 1);
        startCustomers();
        continue;
      }
      const event = next.value;
      const index = firstIndex + this.written;
      const at = new Date(clockStart + index * EVENT_SPACING_MS).toISOString();
      const payload = event.apply(at);
      event.eventId = this.newId();
      const causationId = event.causedBy ? event.causedBy.eventId! : event.correlationId;
      this.written += 1;
      yield line([
        event.eventId,
        event.streamType,
        event.streamId,
        event.version,
        event.type,
        event.schemaVersion,
        JSON.stringify(payload),
        JSON.stringify({ correlationId: event.correlationId, causationId, occurredAt: at }),
        at,
        (head + BigInt(this.written)).toString(),
      ]);
    }
  }

  private newId(): string {
    return uuidV7({ msecs: this.nowMs });
  }

  /** One customer's whole history as the app would have written it, and about how many events it has. */
  private customer(k: number): { script: Generator<PendingEvent, void, void>; expected: number } {
    const orderCount = 5 + Math.floor(Math.random() * 31);
    const users = this.users;
    const orders = this.orders;
    const newId = () => this.newId();
    const user: UserState = {
      id: newId(),
      email: `fill-${k}@example.com`,
      name: `Filled Customer ${k}`,
      status: 'ACTIVE',
      creditLimit: CREDIT_LIMITS[k % CREDIT_LIMITS.length],
      creditReserved: 0,
      creditReservations: {},
      version: 0,
      createdAt: '',
      updatedAt: '',
    };
    const userEvent = (type: string, correlationId: string, causedBy: PendingEvent | undefined, apply: (at: string) => Record<string, unknown>): PendingEvent => ({
      streamType: USER_STREAM_TYPE,
      streamId: user.id,
      version: ++user.version,
      type,
      schemaVersion: 1,
      correlationId,
      causedBy,
      apply: (at) => {
        user.updatedAt = at;
        return apply(at);
      },
    });

    function* script(): Generator<PendingEvent, void, void> {
      yield userEvent('UserRegistered', newId(), undefined, (at) => {
        user.createdAt = at;
        return { userId: user.id, email: user.email, name: user.name, creditLimit: user.creditLimit, registeredAt: at };
      });
      users.push(user);

      for (let n = 0; n < orderCount; n++) {
        if (Math.random() < 0.05) {
          const email = `fill-${k}-${n}@example.com`;
          yield userEvent('UserEmailChanged', newId(), undefined, (at) => {
            const previousEmail = user.email;
            user.email = email;
            return { userId: user.id, previousEmail, email, changedAt: at };
          });
        }

        const lines = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => ({
          sku: `SKU-${Math.floor(Math.random() * SKUS)}`,
          quantity: 1 + Math.floor(Math.random() * 5),
          unitPrice: 100 + Math.floor(Math.random() * 4900),
        }));
        const total = lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0);
        const order: OrderState = {
          id: newId(),
          customerId: user.id,
          status: 'PENDING',
          currency: 'EUR',
          lines,
          total,
          rejectionReason: null,
          version: 0,
          createdAt: '',
          updatedAt: '',
        };
        orders.push(order);
        const orderEvent = (type: string, correlationId: string, causedBy: PendingEvent | undefined, apply: (at: string) => Record<string, unknown>, schemaVersion = 1): PendingEvent => ({
          streamType: ORDER_STREAM_TYPE,
          streamId: order.id,
          version: ++order.version,
          type,
          schemaVersion,
          correlationId,
          causedBy,
          apply: (at) => {
            order.updatedAt = at;
            return apply(at);
          },
        });

        // POST /orders: the request id is the correlation and the causation id.
        const checkout = newId();
        const placed = orderEvent(
          'OrderPlaced',
          checkout,
          undefined,
          (at) => {
            order.createdAt = at;
            return { orderId: order.id, customerId: user.id, lines, total: { amount: total, currency: 'EUR' }, placedAt: at };
          },
          2,
        );
        yield placed;

        // The saga: reserve the credit, then confirm or reject.
        if (user.creditReserved + total > user.creditLimit) {
          const rejected = userEvent('CreditRejected', checkout, placed, (at) => ({
            userId: user.id,
            orderId: order.id,
            amount: total,
            reason: 'insufficient credit',
            rejectedAt: at,
          }));
          yield rejected;
          // Releasing the credit of the rejected order is a no-op: nothing was reserved.
          yield orderEvent('OrderRejected', checkout, rejected, (at) => {
            order.status = 'REJECTED';
            order.rejectionReason = 'insufficient credit';
            return { orderId: order.id, customerId: user.id, reason: 'insufficient credit', rejectedAt: at };
          });
          continue;
        }
        const reserved = userEvent('CreditReserved', checkout, placed, (at) => {
          user.creditReserved += total;
          user.creditReservations = { ...user.creditReservations, [order.id]: total };
          return { userId: user.id, orderId: order.id, amount: total, creditReserved: user.creditReserved, reservedAt: at };
        });
        yield reserved;
        const money = { amount: total, currency: order.currency };
        yield orderEvent(
          'OrderConfirmed',
          checkout,
          reserved,
          (at) => {
            order.status = 'CONFIRMED';
            return { orderId: order.id, customerId: user.id, total: money, confirmedAt: at };
          },
          2,
        );

        const fate = Math.random();
        const release = (type: 'CreditConsumed' | 'CreditReleased', cause: PendingEvent) =>
          userEvent(type, cause.correlationId, cause, (at) => {
            user.creditReserved -= total;
            const open = { ...user.creditReservations };
            delete open[order.id];
            user.creditReservations = open;
            const base = { userId: user.id, orderId: order.id, amount: total, creditReserved: user.creditReserved };
            return type === 'CreditConsumed' ? { ...base, consumedAt: at } : { ...base, releasedAt: at };
          });
        if (fate < 0.75) {
          const shipped = orderEvent(
            'OrderShipped',
            newId(),
            undefined,
            (at) => {
              order.status = 'SHIPPED';
              return { orderId: order.id, customerId: user.id, total: money, shippedAt: at };
            },
            2,
          );
          yield shipped;
          yield release('CreditConsumed', shipped);
        } else if (fate < 0.85) {
          const cancelled = orderEvent(
            'OrderCancelled',
            newId(),
            undefined,
            (at) => {
              order.status = 'CANCELLED';
              return { orderId: order.id, customerId: user.id, reason: 'changed my mind', previousStatus: 'CONFIRMED', total: money, cancelledAt: at };
            },
            2,
          );
          yield cancelled;
          yield release('CreditReleased', cancelled);
        }
      }

      // A few customers leave; none of their orders is pending, so the saga rejects nothing.
      if (Math.random() < 0.02) {
        yield userEvent('UserDeactivated', newId(), undefined, (at) => {
          user.status = 'DEACTIVATED';
          return { userId: user.id, deactivatedAt: at };
        });
      }
    }

    // UserRegistered, about 4.7 events per order, a few email changes.
    return { script: script(), expected: Math.round(1 + orderCount * 4.75) };
  }
}
