import { randomUUID } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import { EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations';
import { ReactionReceipts1764800000000 } from '../migrations/1764800000000-ReactionReceipts';
import { TransactionContext } from '../src/database/transaction-context';
import { dropDatabase } from '../src/database/ensure-database';
import { OrderPlacedV1 } from '../src/contracts';
import { DurableReaction, DurableReactions, EventSequencer, originOf } from '../src/event-store';
import { readReactionBatch } from '../src/event-store/reactions/reaction-receipts';
import { OrderCancelledEvent, OrderPlacedEvent, OrderShippedEvent } from '../src/modules/orders/domain/order.events';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { AfterListening } from '../src/shared/after-listening';
import { placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';
import { createTestDatabase } from './support/test-database';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ORDER_FULFILMENT = 'reaction:order-fulfilment';
const fastPoll = { EVENT_STORE_SAFETY_POLL_MS: '200', REACTION_RETRY_BASE_MS: '20' };

/** Appends a row per event it sees, in the reaction's transaction, with no key that would stop a second row. */
@Injectable()
@EventsHandler(OrderShippedEvent, OrderCancelledEvent)
@DurableReaction({ id: 'test.audit-trail' })
class AuditTrail implements IEventHandler {
  constructor(private readonly transactions: TransactionContext) {}

  async handle(event: object): Promise<void> {
    await this.transactions.current()!.query(`INSERT INTO test_audit_trail (event_id) VALUES ($1)`, [originOf(event)!.eventId]);
  }
}

@Module({ providers: [AuditTrail] })
class AuditTrailModule {}

async function orderStatus(app: TestApp, orderId: string): Promise<string> {
  const [{ status }] = await app.db.query(`SELECT status FROM orders WHERE id = $1`, [orderId]);
  return status;
}

async function whenDecided(app: TestApp, orderId: string): Promise<string> {
  return eventually(async () => {
    const status = await orderStatus(app, orderId);
    expect(status).not.toBe('PENDING');
    return status;
  }, 20_000);
}

/**
 * The reactions' checkpoints (all, or those named) at the head of the store, and nothing left to
 * number. A reaction no process runs any more keeps its checkpoint where it stopped.
 */
async function reactionsAtHead(app: TestApp, subscriptionIds?: string[]): Promise<void> {
  await app.app.get(EventSequencer).sequencePending();
  await eventually(async () => {
    const [{ behind }] = await app.db.query(
      `SELECT count(*)::int AS behind FROM subscription_checkpoints
       WHERE subscription_id LIKE 'reaction:%' AND ($1::text[] IS NULL OR subscription_id = ANY($1))
         AND global_position < (SELECT coalesce(max(global_position), 0) FROM events)`,
      [subscriptionIds ?? null],
    );
    expect(behind).toBe(0);
  }, 20_000);
}

/** What reactions could change: the aggregates, the store, the deadlines, a handler's own rows. */
async function observableState(app: TestApp): Promise<unknown> {
  return {
    users: await app.db.query(`SELECT id, status, version, credit_reserved FROM users ORDER BY id`),
    creditReservations: await app.db.query(`SELECT user_id, order_id, amount FROM credit_reservations ORDER BY user_id, order_id`),
    orders: await app.db.query(`SELECT id, status, version, rejection_reason FROM orders ORDER BY id`),
    events: await app.db.query(`SELECT count(*)::int AS n FROM events`),
    deadlines: await app.db.query(`SELECT * FROM order_deadlines ORDER BY order_id`),
    auditTrail: await app.db.query(`SELECT event_id, count(*)::int AS n FROM test_audit_trail GROUP BY event_id ORDER BY event_id`),
  };
}

describe('reactions after their checkpoint is reset', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: fastPoll, extraModules: [AuditTrailModule] });
    await app.db.query(`CREATE TABLE test_audit_trail (event_id uuid NOT NULL)`);
  });
  afterAll(() => app.close());

  it('change nothing when every reaction reads all history again after a burst of shipments, cancellations and deactivations', async () => {
    const customers = await Promise.all(Array.from({ length: 6 }, () => registerUser(app, { creditLimit: 20_000 })));
    const orders = (await Promise.all(customers.map((customer) => Promise.all([1, 2, 3].map(() => placeOrder(app, customer)))))).flat();
    // Over the limit: rejected, its credit never reserved.
    const poorCustomer = await registerUser(app, { creditLimit: 100 });
    orders.push(await placeOrder(app, poorCustomer));
    for (const [index, orderId] of orders.entries()) {
      const status = await whenDecided(app, orderId);
      if (status !== 'CONFIRMED') continue;
      if (index % 3 === 0) await app.http().post(`/orders/${orderId}/ship`).expect(202);
      else if (index % 3 === 1) await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);
    }
    // A deactivation with orders still pending.
    const leaving = await registerUser(app, { creditLimit: 20_000 });
    const leavingOrders = await Promise.all([1, 2].map(() => placeOrder(app, leaving)));
    await app.http().post(`/users/${leaving}/deactivate`).expect(204);
    for (const orderId of leavingOrders) await whenDecided(app, orderId);
    await reactionsAtHead(app);
    await sleep(300);
    const before = await observableState(app);
    expect((before as { auditTrail: unknown[] }).auditTrail.length).toBeGreaterThan(0);

    const [{ reset }] = await app.db.query(
      `WITH reset AS (UPDATE subscription_checkpoints SET global_position = 0 WHERE subscription_id LIKE 'reaction:%' RETURNING 1)
       SELECT count(*)::int AS reset FROM reset`,
    );
    expect(reset).toBe(3); // order-fulfilment, order-credit and this file's test reaction
    // The running app learns of the reset from its safety poll and reads everything again.
    await eventually(async () => {
      const [{ min }] = await app.db.query(`SELECT min(global_position)::int AS min FROM subscription_checkpoints WHERE subscription_id LIKE 'reaction:%'`);
      expect(min).toBeGreaterThan(0);
    });
    await reactionsAtHead(app);
    await sleep(300);

    expect(await observableState(app)).toEqual(before);
  });
});

@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.registrations-from-now' })
class RegistrationsFromNow implements IEventHandler<UserRegisteredEvent> {
  static readonly seen: string[] = [];
  handle(event: UserRegisteredEvent): void {
    RegistrationsFromNow.seen.push(event.userId);
  }
}

@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.all-registrations', replaysHistory: true })
class AllRegistrations implements IEventHandler<UserRegisteredEvent> {
  static readonly seen: string[] = [];
  handle(event: UserRegisteredEvent): void {
    AllRegistrations.seen.push(event.userId);
  }
}

/** RegistrationsFromNow after a rename: a new class name, the same id. */
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.registrations-from-now' })
class RenamedRegistrationsFromNow implements IEventHandler<UserRegisteredEvent> {
  static readonly seen: string[] = [];
  handle(event: UserRegisteredEvent): void {
    RenamedRegistrationsFromNow.seen.push(event.userId);
  }
}

@Module({ providers: [RegistrationsFromNow, AllRegistrations] })
class NewReactionsModule {}
@Module({ providers: [RenamedRegistrationsFromNow] })
class RenamedReactionModule {}

describe('a reaction added to a running system', () => {
  it('starts at the head of the store unless it replays history, and keeps its place under a new class name', async () => {
    const first = await startTestApp();
    const earlier = await registerUser(first);
    await reactionsAtHead(first);
    await first.close({ keepDatabase: true });

    const second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, extraModules: [NewReactionsModule] });
    let later: string;
    try {
      later = await registerUser(second);
      await eventually(async () => expect(RegistrationsFromNow.seen).toEqual([later]));
      // Two streams, two partitions: taken at once, in no promised order between them.
      await eventually(async () => expect([...AllRegistrations.seen].sort()).toEqual([earlier, later].sort()));
      await reactionsAtHead(second);
    } finally {
      await second.close({ keepDatabase: true });
    }

    const third = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, extraModules: [RenamedReactionModule] });
    try {
      const latest = await registerUser(third);
      await eventually(async () => expect(RenamedRegistrationsFromNow.seen).toEqual([latest]));
      await reactionsAtHead(third, [ORDER_FULFILMENT, 'reaction:test.registrations-from-now']);
      await sleep(200);
      expect(RenamedRegistrationsFromNow.seen).toEqual([latest]);
    } finally {
      await third.close();
    }
  });

  it('is refused at start without a stable id, and the refused start leaves no connection open', async () => {
    @EventsHandler(UserRegisteredEvent)
    class Anonymous implements IEventHandler<UserRegisteredEvent> {
      handle(): void {}
    }
    @Module({ providers: [Anonymous] })
    class AnonymousModule {}

    const url = await createTestDatabase();
    const server = new Client({ connectionString: url });
    await server.connect();
    try {
      await expect(startTestApp({ databaseUrl: url, extraModules: [AnonymousModule] })).rejects.toThrow(/Anonymous has .* no @DurableReaction\(\{ id \}\)/);
      // Only the observer itself: the LISTEN connection and the pool of the refused start are closed.
      const [{ open }] = (
        await server.query(`SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
      ).rows;
      expect(open).toBe(0);
    } finally {
      await server.end();
      await dropDatabase(url);
    }
  });

  it('is refused at start when it reads a class that is neither a manifest’s event class nor a published contract', async () => {
    /** Looks like an event (a static type) but no manifest declares it and no module publishes it. */
    class InvoiceIssuedV1 {
      static readonly type = 'com.example.billing.invoice-issued.v1';
    }
    @Injectable()
    @DurableReaction({ id: 'test.unknown-contract' })
    @EventsHandler(InvoiceIssuedV1)
    class Billing implements IEventHandler<InvoiceIssuedV1> {
      handle(): void {}
    }
    @Module({ providers: [Billing] })
    class BillingModule {}

    const url = await createTestDatabase();
    try {
      await expect(startTestApp({ databaseUrl: url, extraModules: [BillingModule] })).rejects.toThrow(
        /Billing reads InvoiceIssuedV1, which is neither an event class of a module's manifest nor a contract a module publishes/,
      );
    } finally {
      await dropDatabase(url);
    }
  });

  it('delivers another module’s events as its published contracts: an instance of the contract class, with the stored event as its origin', async () => {
    const seen: Array<{ instance: boolean; customerId: string; total: unknown; origin?: string }> = [];
    @Injectable()
    @DurableReaction({ id: 'test.placed-orders-as-contracts' })
    @EventsHandler(OrderPlacedV1)
    class PlacedOrdersAsContracts implements IEventHandler<OrderPlacedV1> {
      handle(event: OrderPlacedV1): void {
        seen.push({ instance: event instanceof OrderPlacedV1, customerId: event.customerId, total: event.total, origin: originOf(event)?.eventType });
      }
    }
    @Module({ providers: [PlacedOrdersAsContracts] })
    class PlacedOrdersModule {}

    const app = await startTestApp({ extraModules: [PlacedOrdersModule] });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      await placeOrder(app, customer, [{ sku: 'C-1', quantity: 2, unitPrice: 150 }]);
      // The stored OrderPlaced holds total as Money; the contract keeps its v1 shape: a number and a currency.
      await eventually(async () => expect(seen).toEqual([{ instance: true, customerId: customer, total: 300, origin: 'OrderPlaced' }]));
    } finally {
      await app.close();
    }
  });
});

/** Records each registration in the reaction's transaction, and stops at the slow user's until released. */
@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.slow-third', replaysHistory: true })
class SlowThirdRegistration implements IEventHandler<UserRegisteredEvent> {
  static slowUser = '';
  static release: () => void = () => undefined;
  static readonly reached = deferred();

  constructor(private readonly transactions: TransactionContext) {}

  async handle(event: UserRegisteredEvent): Promise<void> {
    await this.transactions.current()!.query(`INSERT INTO test_registrations (user_id) VALUES ($1)`, [event.userId]);
    if (event.userId === SlowThirdRegistration.slowUser) {
      SlowThirdRegistration.reached.resolve();
      await new Promise<void>((resolve) => (SlowThirdRegistration.release = resolve));
    }
  }
}

@Module({ providers: [SlowThirdRegistration] })
class SlowThirdModule {}

describe('a reaction step', () => {
  it('commits each event on its own: other partitions go past a slow step, and the checkpoint follows what is done while it runs', async () => {
    const app = await startTestApp({ extraModules: [SlowThirdModule], startReaders: false });
    const observer = new Client({ connectionString: app.databaseUrl });
    try {
      await app.db.query(`CREATE TABLE test_registrations (user_id uuid NOT NULL)`);
      // Five registrations stored before any reader starts: one batch for the reaction, five streams.
      const users: string[] = [];
      for (let i = 0; i < 5; i += 1) users.push(await registerUser(app));
      SlowThirdRegistration.slowUser = users[2];
      await app.app.get(EventSequencer).sequencePending();
      await app.app.get(AfterListening).start();
      await SlowThirdRegistration.reached.promise;

      await observer.connect();
      const others = users.filter((user) => user !== users[2]);
      await eventually(async () => {
        const { rows: applied } = await observer.query(`SELECT user_id FROM test_registrations`);
        expect(applied.map((row) => row.user_id).sort()).toEqual([...others].sort());
      });
      // A low-water mark: everything up to it is done, so it waits before the slow event.
      await eventually(async () => {
        const { rows: [checkpoint] } = await observer.query(
          `SELECT e.payload->>'userId' AS "userId" FROM subscription_checkpoints c
           JOIN events e ON e.global_position = c.global_position WHERE c.subscription_id = 'reaction:test.slow-third'`,
        );
        expect(checkpoint?.userId).toBe(users[1]);
      });
      // Nothing stays open but the one transaction of the slow event (others come and go in ms).
      await sleep(500);
      const { rows: [{ open }] } = await observer.query(
        `SELECT count(*)::int AS open FROM pg_stat_activity
         WHERE datname = current_database() AND xact_start < now() - interval '400 milliseconds' AND pid <> pg_backend_pid()`,
      );
      expect(open).toBeLessThanOrEqual(1);

      SlowThirdRegistration.release();
      await eventually(async () => {
        const { rows } = await observer.query(`SELECT user_id FROM test_registrations`);
        expect(rows.map((row) => row.user_id).sort()).toEqual([...users].sort());
        const { rows: [checkpoint] } = await observer.query(
          `SELECT global_position::text AS at, (SELECT max(global_position)::text FROM events) AS head
           FROM subscription_checkpoints WHERE subscription_id = 'reaction:test.slow-third'`,
        );
        expect(checkpoint.at).toBe(checkpoint.head);
      });
      // Passed over once done: every registration was recorded once.
      const { rows: [{ recorded }] } = await observer.query(`SELECT count(*)::int AS recorded FROM test_registrations`);
      expect(recorded).toBe(5);
    } finally {
      SlowThirdRegistration.release();
      await observer.end().catch(() => undefined);
      await app.close();
    }
  });
});

/** Notes when each registration starts and ends, taking a while, to see what overlaps. */
class Timeline {
  readonly handled: string[] = [];
  private running = 0;
  maxRunning = 0;

  async record(userId: string): Promise<void> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    await sleep(30);
    this.handled.push(userId);
    this.running -= 1;
  }
}

@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.one-partition', replaysHistory: true, partitionBy: () => 'everyone' })
class OnePartitionRegistrations implements IEventHandler<UserRegisteredEvent> {
  static readonly timeline = new Timeline();
  handle(event: UserRegisteredEvent): Promise<void> {
    return OnePartitionRegistrations.timeline.record(event.userId);
  }
}

@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.by-stream', replaysHistory: true })
class PerStreamRegistrations implements IEventHandler<UserRegisteredEvent> {
  static readonly timeline = new Timeline();
  handle(event: UserRegisteredEvent): Promise<void> {
    return PerStreamRegistrations.timeline.record(event.userId);
  }
}

@Module({ providers: [OnePartitionRegistrations, PerStreamRegistrations] })
class PartitionedModule {}

describe('a reaction\'s partitions', () => {
  it('take one partition\'s events one at a time in commit order, and different partitions at once', async () => {
    const app = await startTestApp({ extraModules: [PartitionedModule], startReaders: false, env: { REACTION_CONCURRENCY: '4' } });
    try {
      const users: string[] = [];
      for (let i = 0; i < 12; i += 1) users.push(await registerUser(app));
      await app.app.get(EventSequencer).sequencePending();
      const inCommitOrder: string[] = (
        await app.db.query(`SELECT payload->>'userId' AS "userId" FROM events WHERE event_type = 'UserRegistered' ORDER BY global_position`)
      ).map((row: { userId: string }) => row.userId);
      expect([...inCommitOrder].sort()).toEqual([...users].sort());

      const reactions = app.app.get(DurableReactions);
      await reactions.get('reaction:test.one-partition').catchUp();
      await reactions.get('reaction:test.by-stream').catchUp();

      expect(OnePartitionRegistrations.timeline.handled).toEqual(inCommitOrder);
      expect(OnePartitionRegistrations.timeline.maxRunning).toBe(1);
      expect([...PerStreamRegistrations.timeline.handled].sort()).toEqual([...users].sort());
      expect(PerStreamRegistrations.timeline.maxRunning).toBe(4);
    } finally {
      await app.close();
    }
  });
});

describe('readers', () => {
  it('start only once the app listens: before, nothing is projected, reacted to or relayed', async () => {
    const app = await startTestApp({ startReaders: false });
    try {
      const customer = await registerUser(app, { creditLimit: 10_000 });
      const orderId = await placeOrder(app, customer);
      await app.app.get(EventSequencer).sequencePending();
      await sleep(1000);
      expect(await orderStatus(app, orderId)).toBe('PENDING');
      const checkpoints = await app.db.query(`SELECT subscription_id, global_position::int AS at FROM subscription_checkpoints ORDER BY 1`);
      expect(checkpoints.filter((row: { at: number }) => row.at > 0)).toEqual([]);

      await app.app.get(AfterListening).start();
      expect(await whenDecided(app, orderId)).toBe('CONFIRMED');
      await eventually(async () => {
        const [{ relayed }] = await app.db.query(`SELECT global_position::int AS relayed FROM subscription_checkpoints WHERE subscription_id = 'relay:integration-events'`);
        expect(relayed).toBeGreaterThan(0);
      });
    } finally {
      await app.close();
    }
  });

  it('read only the event types the reaction handles, filtered in the query', async () => {
    const app = await startTestApp();
    try {
      const customer = await registerUser(app, { creditLimit: 10_000 });
      const orderId = await placeOrder(app, customer);
      await whenDecided(app, orderId);
      await app.app.get(EventSequencer).sequencePending();
      const batch = await readReactionBatch(app.db, 'reaction:any', 0n, [OrderPlacedEvent.type], 100);
      expect(batch.events.map((event) => [event.eventType, event.streamId])).toEqual([['OrderPlaced', orderId]]);
      const [{ head }] = await app.db.query(`SELECT max(global_position)::text AS head FROM events`);
      expect(batch.head).toBe(head);
    } finally {
      await app.close();
    }
  });
});

describe('two processes running the same reactions', () => {
  it('decide every order once: each event is taken by one of them', async () => {
    const first = await startTestApp({ env: fastPoll });
    const second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env: fastPoll });
    try {
      const customers = await Promise.all([1, 2, 3, 4].map(() => registerUser(first, { creditLimit: 100_000 })));
      const orders = await Promise.all(
        Array.from({ length: 40 }, (_, index) => placeOrder(index % 2 === 0 ? first : second, customers[index % customers.length])),
      );
      for (const orderId of orders) expect(await whenDecided(first, orderId)).toBe('CONFIRMED');
      await reactionsAtHead(first);
      const perOrder = await first.db.query(
        `SELECT payload->>'orderId' AS "orderId", count(*) FILTER (WHERE event_type = 'CreditReserved')::int AS reserved,
                count(*) FILTER (WHERE event_type = 'OrderConfirmed')::int AS confirmed
         FROM events WHERE payload->>'orderId' = ANY($1) GROUP BY 1`,
        [orders],
      );
      expect(perOrder).toHaveLength(40);
      expect(perOrder.every((row: { reserved: number; confirmed: number }) => row.reserved === 1 && row.confirmed === 1)).toBe(true);
      const [{ receipts, sagaEvents }] = await first.db.query(
        `SELECT (SELECT count(*)::int FROM reaction_receipts WHERE subscription_id = $1 AND step = '*') AS receipts,
                (SELECT count(*)::int FROM events WHERE event_type IN ('CreditReserved', 'CreditRejected', 'UserDeactivated')) AS "sagaEvents"`,
        [ORDER_FULFILMENT],
      );
      expect(receipts).toBe(sagaEvents);
    } finally {
      await second.close({ keepDatabase: true });
      await first.close();
    }
  });
});

describe('the upgrade to one subscription per reaction class', () => {
  it('resumes the saga at its least advanced member, and the members ahead do not act again', async () => {
    const url = await createTestDatabase();
    const before = migrations.slice(0, migrations.indexOf(ReactionReceipts1764800000000));
    const dataSource = new DataSource({ type: 'postgres', url, migrations: before, migrationsTransactionMode: 'each' });
    await dataSource.initialize();
    try {
      await dataSource.runMigrations();
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      for (const [index, id] of ids.entries()) {
        await dataSource.query(
          `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata, global_position)
           VALUES ($1, 'Order', $2, 1, 'OrderPlaced', '{}', '{}', $3)`,
          [id, randomUUID(), index + 1],
        );
      }
      await dataSource.query(
        `INSERT INTO subscription_checkpoints (subscription_id, global_position) VALUES
           ('reaction:OrderFulfilmentSaga.scheduleDeadlineForPlacedOrder', 3),
           ('reaction:OrderFulfilmentSaga.reserveCreditForPlacedOrder', 1),
           ('reaction:SomeHandler', 2)`,
      );
      await dataSource.query(
        `INSERT INTO parked_reactions (reaction, event_id, event_position, stream_id, event_type, attempts, last_error)
         VALUES ('reaction:OrderFulfilmentSaga.reserveCreditForPlacedOrder', $1, 1, $2, 'OrderPlaced', 5, 'boom')`,
        [ids[0], randomUUID()],
      );
      await dataSource.destroy();

      const upgraded = new DataSource({ type: 'postgres', url, migrations, migrationsTransactionMode: 'each' });
      await upgraded.initialize();
      try {
        await upgraded.runMigrations();
        // Never before where the old code had acted (no receipts say what it did there), even after a reset.
        expect(
          await upgraded.query(`SELECT subscription_id, global_position::int AS at, starts_after::int AS "startsAfter" FROM subscription_checkpoints ORDER BY 1`),
        ).toEqual([
          { subscription_id: 'reaction:SomeHandler', at: 2, startsAfter: 2 },
          // The later handover of the credit steps to the Users module (OrderCreditReaction1765200000000) starts from the same place.
          { subscription_id: 'reaction:order-credit', at: 1, startsAfter: 1 },
          { subscription_id: 'reaction:order-fulfilment', at: 1, startsAfter: 1 },
        ]);
        expect(await upgraded.query(`SELECT event_id, step FROM reaction_receipts ORDER BY 1, 2`)).toEqual(
          [ids[1], ids[2]].map((id) => ({ event_id: id, step: 'scheduleDeadlineForPlacedOrder' })).sort((a, b) => a.event_id.localeCompare(b.event_id)),
        );
        expect(await upgraded.query(`SELECT reaction, step FROM parked_reactions`)).toEqual([
          { reaction: 'reaction:order-credit', step: 'reserveCreditForPlacedOrder' },
        ]);
      } finally {
        await upgraded.destroy();
      }
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await dropDatabase(url);
    }
  });
});
