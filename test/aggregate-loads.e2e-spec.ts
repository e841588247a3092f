import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { TransactionContext } from '../src/database/transaction-context';
import { Order } from '../src/modules/orders/domain/order';
import { OrderNotFoundError } from '../src/modules/orders/domain/order.errors';
import { OrderRepository } from '../src/modules/orders/domain/order.repository';
import { OrderRecord } from '../src/modules/orders/persistence/order.record';
import { User } from '../src/modules/users/domain/user';
import { UserNotFoundError } from '../src/modules/users/domain/user.errors';
import { UserRepository } from '../src/modules/users/domain/user.repository';
import { UserRecord } from '../src/modules/users/persistence/user.record';
import { classifyFailure } from '../src/shared/failure-classification';
import { lockUserRow, placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * The write-model repositories load aggregates with plain SQL (issue 10). What they load is what
 * TypeORM's `findOneBy` and query builder loaded before, field by field and type by type (bigint
 * amounts past 2^31, an order's credit reservation, jsonb lines, timestamps, a null and a set rejection reason);
 * inside an outer transaction they read on its connection, as named prepared statements.
 */
let app: TestApp;
let users: UserRepository;
let orders: OrderRepository;
beforeAll(async () => {
  app = await startTestApp();
  users = app.app.get(UserRepository);
  orders = app.app.get(OrderRepository);
});
afterAll(() => app?.close());

/** The loads as the repositories made them before, through TypeORM: the reference. */
const throughTypeOrm = {
  user: (id: string) => app.db.getRepository(UserRecord).findOneBy({ id }),
  order: (id: string) => app.db.getRepository(OrderRecord).findOneBy({ id }),
  pendingOf: (customerId: string) =>
    app.db.getRepository(OrderRecord).createQueryBuilder('o').where('o.customer_id = :customerId', { customerId }).andWhere(`o.status = 'PENDING'`).getMany(),
};

/** Each line 50 × 99,999,999: a total of 4,999,999,950, past 2^31. */
const bigLines = [
  { sku: 'BIG-1', quantity: 50, unitPrice: 99_999_999 },
  { sku: 'FREE-Ü', quantity: 1, unitPrice: 0 },
];
const bigTotal = 50 * 99_999_999;

async function expectSameUser(id: string): Promise<User> {
  const record = await throughTypeOrm.user(id);
  expect(record).not.toBeNull();
  const loaded = await users.get(id);
  expect(loaded.snapshot()).toStrictEqual(User.restore(record!).snapshot());
  expect(loaded).toStrictEqual(User.restore(record!));
  return loaded;
}

async function expectSameOrder(id: string): Promise<Order> {
  const record = await throughTypeOrm.order(id);
  expect(record).not.toBeNull();
  const loaded = await orders.get(id);
  expect(loaded.snapshot()).toStrictEqual(Order.restore(record!).snapshot());
  expect(loaded).toStrictEqual(Order.restore(record!));
  return loaded;
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

describe('aggregates loaded by plain SQL', () => {
  it('a user with credit reservations and orders with lines load exactly as TypeORM loaded them', async () => {
    const customerId = await registerUser(app, { creditLimit: 12_000_000_000 });
    const placed = [await placeOrder(app, customerId, bigLines), await placeOrder(app, customerId, bigLines), await placeOrder(app, customerId, bigLines)];
    // Two fit the limit and are reserved; the third is rejected with a reason.
    await eventually(async () => {
      const statuses = (await Promise.all(placed.map(throughTypeOrm.order))).map((order) => order!.status).sort();
      expect(statuses).toEqual(['CONFIRMED', 'CONFIRMED', 'REJECTED']);
    }, 20_000);

    const user = (await expectSameUser(customerId)).snapshot();
    // Each order's reservation loads with the user, amounts past 2^31 as numbers; the rejected one holds none.
    const held = await Promise.all(placed.map(async (orderId) => (await users.getForOrderCredit(customerId, orderId)).reservationOf(orderId)));
    expect([...held].sort()).toEqual([bigTotal, bigTotal, null].sort());
    const [withReservation] = placed.filter((_, index) => held[index] !== null);
    expect((await users.getForOrderCredit(customerId, withReservation)).snapshot()).toStrictEqual(user);
    expect(user).toMatchObject({ creditLimit: 12_000_000_000, creditReserved: 2 * bigTotal, status: 'ACTIVE' });
    expect(user.version).toBeGreaterThanOrEqual(3);
    expect(user.createdAt).toBeInstanceOf(Date);

    const loaded = await Promise.all(placed.map(expectSameOrder));
    for (const order of loaded.map((o) => o.snapshot())) {
      expect(order).toMatchObject({ customerId, currency: 'EUR', lines: bigLines, total: bigTotal });
      expect(order.updatedAt).toBeInstanceOf(Date);
    }
    const reasons = loaded.map((o) => o.snapshot().rejectionReason);
    expect(reasons.filter((reason) => reason === null)).toHaveLength(2);
    expect(reasons.filter((reason) => typeof reason === 'string' && reason.length > 0)).toHaveLength(1);
  });

  it("a customer's pending orders load as TypeORM's query builder loaded them, and only those", async () => {
    const customerId = await registerUser(app, { creditLimit: 12_000_000_000 });
    const confirmed = await placeOrder(app, customerId, bigLines);
    await eventually(async () => expect((await throughTypeOrm.order(confirmed))!.status).toBe('CONFIRMED'));

    // With the customer's row locked the saga cannot reserve: these two stay PENDING.
    const lock = await lockUserRow(app, customerId);
    try {
      const pending = [await placeOrder(app, customerId, bigLines), await placeOrder(app, customerId, [{ sku: 'PEN-7', quantity: 3, unitPrice: 199 }])];
      const records = (await throughTypeOrm.pendingOf(customerId)).sort(byId);
      expect(records.map(({ id }) => id)).toEqual([...pending].sort());
      const loaded = (await orders.pendingOf(customerId)).sort(byId);
      expect(loaded.map((order) => order.snapshot())).toStrictEqual(records.map((record) => Order.restore(record).snapshot()));
      expect(loaded).toStrictEqual(records.map((record) => Order.restore(record)));
    } finally {
      await lock.release();
    }
    expect(await orders.pendingOf(randomUUID())).toEqual([]);
  });

  it('an unknown id is not found, as before', async () => {
    const id = randomUUID();
    expect(await throughTypeOrm.user(id)).toBeNull();
    await expect(users.get(id)).rejects.toBeInstanceOf(UserNotFoundError);
    expect(await throughTypeOrm.order(id)).toBeNull();
    await expect(orders.get(id)).rejects.toBeInstanceOf(OrderNotFoundError);
  });

  it('an id that is no uuid fails as the caller\'s own fault (a step with it is parked, not retried as a database failure); no id is not found', async () => {
    for (const id of ['not-a-uuid', '']) {
      for (const load of [() => users.get(id), () => orders.get(id)]) {
        const failure: unknown = await load().then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(Error);
        expect((failure as Error).message).toContain('invalid input syntax for type uuid');
        expect(classifyFailure(failure)).toBe('message');
      }
    }
    await expect(users.get(undefined as unknown as string)).rejects.toBeInstanceOf(UserNotFoundError);
    await expect(orders.get(undefined as unknown as string)).rejects.toBeInstanceOf(OrderNotFoundError);
  });

  it('a load whose connection PostgreSQL terminates fails as a database failure, and the next load works', async () => {
    const customerId = await registerUser(app);
    const orderId = await placeOrder(app, customerId);
    // The saga is done with the order: the only load of it is this test's.
    await eventually(async () => expect((await throughTypeOrm.order(orderId))!.status).toBe('CONFIRMED'));
    const admin = new Client({ connectionString: app.databaseUrl });
    await admin.connect();
    try {
      // The load waits behind a lock on the table, and its backend is terminated meanwhile.
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
      const loading = orders.get(orderId).then(
        () => undefined,
        (error: unknown) => error,
      );
      const [{ pid }] = await eventually(async () => {
        // Inside its transaction a session sees one snapshot of pg_stat_activity until told to forget it.
        await admin.query('SELECT pg_stat_clear_snapshot()');
        const waiting = await admin.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT id, customer_id, %FROM orders WHERE id = $1'`,
        );
        expect(waiting.rows).toHaveLength(1);
        return waiting.rows;
      });
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.query('COMMIT');
      const failure = await loading;
      expect(failure).toBeInstanceOf(Error);
      expect(classifyFailure(failure)).toBe('infrastructure');
    } finally {
      await admin.end();
    }
    await expectSameOrder(orderId);
  });

  it("inside an outer transaction the loads read on its connection (its uncommitted writes), as named prepared statements", async () => {
    const customerId = await registerUser(app, { name: 'Committed Name' });
    const orderId = await placeOrder(app, customerId);
    await eventually(async () => expect((await throughTypeOrm.order(orderId))!.status).toBe('CONFIRMED'));

    const transactions = app.app.get(TransactionContext);
    const runner = app.db.createQueryRunner();
    await runner.startTransaction();
    try {
      await runner.query(`UPDATE users SET name = 'Uncommitted Name' WHERE id = $1`, [customerId]);
      await runner.query(`UPDATE orders SET status = 'PENDING' WHERE id = $1`, [orderId]);

      const inside = await transactions.run(runner.manager, async () => ({
        user: (await users.get(customerId)).snapshot(),
        order: (await orders.get(orderId)).snapshot(),
        pending: (await orders.pendingOf(customerId)).map((order) => order.id),
      }));
      expect(inside.user.name).toBe('Uncommitted Name');
      expect(inside.order.status).toBe('PENDING');
      expect(inside.pending).toEqual([orderId]);

      // On the pool, outside the transaction: the committed state.
      expect((await users.get(customerId)).snapshot().name).toBe('Committed Name');
      expect((await orders.get(orderId)).snapshot().status).toBe('CONFIRMED');
      expect(await orders.pendingOf(customerId)).toEqual([]);

      // The three loads are prepared on the transaction's connection under a name (the extended
      // protocol's Parse, not SQL PREPARE), as plain SQL rather than TypeORM's aliased SELECT.
      const prepared: Array<{ name: string; statement: string; from_sql: boolean }> = await runner.query(
        `SELECT name, statement, from_sql FROM pg_prepared_statements WHERE statement LIKE 'SELECT id, %'`,
      );
      const loads = [`FROM users WHERE id = $1`, `FROM orders WHERE id = $1`, `FROM orders WHERE customer_id = $1 AND status = 'PENDING'`];
      for (const load of loads) {
        const matching = prepared.filter(({ statement }) => statement.endsWith(load));
        expect({ load, count: matching.length, fromSql: matching[0]?.from_sql, named: (matching[0]?.name ?? '') !== '' }).toEqual({
          load,
          count: 1,
          fromSql: false,
          named: true,
        });
      }
    } finally {
      await runner.rollbackTransaction();
      await runner.release();
    }
    expect((await users.get(customerId)).snapshot().name).toBe('Committed Name');
  });
});
