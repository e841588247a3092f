import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { withCommandCause } from '../src/event-store';
import { ConsumeCreditCommand } from '../src/modules/users/commands/consume-credit/consume-credit.command';
import { ReleaseCreditCommand } from '../src/modules/users/commands/release-credit/release-credit.command';
import { ReserveCreditCommand } from '../src/modules/users/commands/reserve-credit/reserve-credit.command';
import { UserRepository } from '../src/modules/users/domain/user.repository';
import { ConcurrencyConflictError } from '../src/shared/domain-error';
import { registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

/**
 * Credit steps of one customer racing, as the saga never sends them (it takes one customer's
 * events one at a time) but two processes, a redelivery or an operator's command could: each step
 * goes through the CommandBus, so RunningCommands reruns the loser of an optimistic race, on its
 * own connection of the pool. Whatever wins, the customer's `credit_reserved` is the sum of its
 * credit_reservations rows and never above its limit, and each row is the last word of the events
 * on its order.
 */
let app: TestApp;
let bus: CommandBus;
let users: UserRepository;
beforeAll(async () => {
  app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
  bus = app.app.get(CommandBus);
  users = app.app.get(UserRepository);
});
afterAll(() => app?.close());

type Step = ReserveCreditCommand | ReleaseCreditCommand | ConsumeCreditCommand;

/** One step as a reaction step sends it: a cause of its own, the outermost command (so rerun on a conflict). */
function send(step: Step): Promise<unknown> {
  const id = randomUUID();
  return withCommandCause({ correlationId: id, causationId: id }, () => bus.execute(step));
}

/** Runs the steps at once; a step that lost its race five times in a row (ConcurrencyConflictError) is allowed, nothing else. */
async function race(steps: Step[]): Promise<void> {
  const results = await Promise.allSettled(steps.map(send));
  for (const result of results) {
    if (result.status === 'rejected' && !(result.reason instanceof ConcurrencyConflictError)) throw result.reason;
  }
}

/** The invariant, and the rows as the user's events leave them (per order: the last CreditReserved not followed by a release or consumption). */
async function expectConsistent(userId: string): Promise<{ reserved: number; rows: number }> {
  const [state] = await app.db.query(
    `SELECT u.credit_reserved::bigint::text AS reserved, u.credit_limit::bigint::text AS "limit",
       coalesce((SELECT sum(amount) FROM credit_reservations r WHERE r.user_id = u.id), 0)::text AS "sumOfRows",
       (SELECT count(*) FROM credit_reservations r WHERE r.user_id = u.id)::int AS rows
     FROM users u WHERE u.id = $1`,
    [userId],
  );
  expect(state.sumOfRows).toBe(state.reserved);
  expect(Number(state.reserved)).toBeLessThanOrEqual(Number(state.limit));
  const fromEvents: Array<{ order_id: string; amount: string }> = await app.db.query(
    `SELECT order_id, amount FROM (
       SELECT DISTINCT ON (payload->>'orderId') payload->>'orderId' AS order_id, event_type, payload->>'amount' AS amount
       FROM events WHERE stream_id = $1 AND event_type IN ('CreditReserved', 'CreditReleased', 'CreditConsumed')
       ORDER BY payload->>'orderId', stream_version DESC) AS last
     WHERE event_type = 'CreditReserved' ORDER BY order_id`,
    [userId],
  );
  const rows: Array<{ order_id: string; amount: string }> = await app.db.query(
    `SELECT order_id::text, amount::text FROM credit_reservations WHERE user_id = $1 ORDER BY order_id::text`,
    [userId],
  );
  expect(rows).toEqual(fromEvents);
  const [{ lastReserved }] = await app.db.query(
    `SELECT coalesce((SELECT payload->>'creditReserved' FROM events WHERE stream_id = $1 AND payload ? 'creditReserved' ORDER BY stream_version DESC LIMIT 1), '0') AS "lastReserved"`,
    [userId],
  );
  expect(lastReserved).toBe(state.reserved);
  return { reserved: Number(state.reserved), rows: state.rows };
}

it('thirty reservations of one customer at once, on as many connections: the limit holds and credit_reserved is the sum of the rows', async () => {
  const userId = await registerUser(app, { creditLimit: 1_500 });
  const orders = Array.from({ length: 30 }, () => randomUUID());
  await race(orders.map((orderId) => new ReserveCreditCommand(userId, orderId, 100)));
  const first = await expectConsistent(userId);
  expect(first.rows).toBeGreaterThan(0);

  // Then releases, consumptions and new reservations of the same customer, all at once.
  const steps: Step[] = orders.flatMap((orderId, index) => (index % 2 === 0 ? [new ReleaseCreditCommand(userId, orderId)] : [new ConsumeCreditCommand(userId, orderId)]));
  steps.push(...Array.from({ length: 15 }, () => new ReserveCreditCommand(userId, randomUUID(), 100)));
  await race(steps.sort(() => Math.random() - 0.5));
  await expectConsistent(userId);
}, 60_000);

it('a reservation and a release of the same order racing: the row and credit_reserved agree, whichever went first', async () => {
  const userId = await registerUser(app, { creditLimit: 100_000 });
  for (let round = 0; round < 20; round++) {
    const orderId = randomUUID();
    await race(round % 2 === 0
      ? [new ReserveCreditCommand(userId, orderId, 100 + round), new ReleaseCreditCommand(userId, orderId)]
      : [new ReleaseCreditCommand(userId, orderId), new ReserveCreditCommand(userId, orderId, 100 + round)]);
  }
  await expectConsistent(userId);
}, 60_000);

it('one order reserved five times at once (a redelivered step): one reservation, counted once', async () => {
  const userId = await registerUser(app, { creditLimit: 100_000 });
  for (let round = 0; round < 10; round++) {
    const orderId = randomUUID();
    await race(Array.from({ length: 5 }, () => new ReserveCreditCommand(userId, orderId, 700)));
  }
  const { reserved, rows } = await expectConsistent(userId);
  expect([reserved, rows]).toEqual([7_000, 10]);
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND event_type = 'CreditReserved'`, [userId]);
  expect(n).toBe(10);
}, 60_000);

it('a step that lost its race is rerun on a fresh load: the rerun sees the reservation the winner made', async () => {
  const userId = await registerUser(app, { creditLimit: 1_000 });
  const orderId = randomUUID();
  const load = users.getForOrderCredit.bind(users);
  let loads = 0;
  const spy = jest.spyOn(users, 'getForOrderCredit').mockImplementation(async (id, order) => {
    const user = await load(id, order);
    loads += 1;
    if (loads === 1) {
      // Between this load and its save, another command reserves the same order (a second process, on another connection of the pool).
      const competitor = await load(id, order);
      competitor.reserveCredit(order, 600, new Date());
      await withCommandCause({ correlationId: 'rival', causationId: 'rival' }, () => users.save(competitor));
    }
    return user;
  });
  try {
    await send(new ReserveCreditCommand(userId, orderId, 600));
  } finally {
    spy.mockRestore();
  }
  expect(loads).toBe(2);
  const { reserved, rows } = await expectConsistent(userId);
  expect([reserved, rows]).toEqual([600, 1]);
});

it('the invariant holds after the saga ran a burst of orders placed, cancelled and shipped over HTTP', async () => {
  const sagaApp = await startTestApp();
  try {
    const customers = await Promise.all(Array.from({ length: 3 }, () => registerUser(sagaApp, { creditLimit: 5_000 })));
    const placed = await Promise.all(
      Array.from({ length: 45 }, (_, i) => customers[i % customers.length]).map(async (customerId, i) => {
        const response = await sagaApp
          .http()
          .post('/orders')
          .send({ customerId, currency: 'EUR', lines: [{ sku: 'RACE-1', quantity: 1, unitPrice: 300 + (i % 5) * 100 }] })
          .expect(202);
        return response.body.id as string;
      }),
    );
    const decided = await Promise.all(
      placed.map((id) =>
        eventually(async () => {
          const { body } = await sagaApp.http().get(`/orders/${id}`).expect(200);
          if (body.status === 'PENDING') throw new Error(`order ${id} is pending`);
          return body.status as string;
        }, 30_000),
      ),
    );
    const confirmed = placed.filter((_, i) => decided[i] === 'CONFIRMED');
    expect(confirmed.length).toBeGreaterThan(0);
    await Promise.all(
      confirmed.map((id, i) =>
        i % 3 === 0 ? sagaApp.http().post(`/orders/${id}/cancel`).send({ reason: 'changed my mind' }).expect(202)
        : i % 3 === 1 ? sagaApp.http().post(`/orders/${id}/ship`).expect(202)
        : undefined,
      ),
    );
    await eventually(async () => {
      const drifted = await sagaApp.db.query(
        `SELECT o.customer_id FROM orders o WHERE o.customer_id = ANY($1) GROUP BY o.customer_id
         HAVING coalesce(sum(o.total) FILTER (WHERE o.status = 'CONFIRMED'), 0)
           <> coalesce((SELECT sum(amount) FROM credit_reservations r WHERE r.user_id = o.customer_id), 0)`,
        [customers],
      );
      expect(drifted).toEqual([]);
    }, 30_000);
    for (const customerId of customers) {
      const [{ reserved, sumOfRows, rowOrders, confirmedOrders }] = await sagaApp.db.query(
        `SELECT u.credit_reserved::text AS reserved,
           coalesce((SELECT sum(amount) FROM credit_reservations r WHERE r.user_id = u.id), 0)::text AS "sumOfRows",
           (SELECT coalesce(array_agg(order_id::text ORDER BY order_id::text), '{}') FROM credit_reservations r WHERE r.user_id = u.id) AS "rowOrders",
           (SELECT coalesce(array_agg(id::text ORDER BY id::text), '{}') FROM orders o WHERE o.customer_id = u.id AND o.status = 'CONFIRMED') AS "confirmedOrders"
         FROM users u WHERE u.id = $1`,
        [customerId],
      );
      expect(sumOfRows).toBe(reserved);
      expect(rowOrders).toEqual(confirmedOrders);
    }
  } finally {
    await sagaApp.close();
  }
}, 90_000);

it('two API instances on one database (each its own pool and writer) stepping the same customer at once: the invariant holds', async () => {
  const other = await startTestApp({ databaseUrl: app.databaseUrl, env: { REACTIONS_ENABLED: 'false' } });
  try {
    const otherBus = other.app.get(CommandBus);
    const userId = await registerUser(app, { creditLimit: 2_000 });
    const orders = Array.from({ length: 40 }, () => randomUUID());
    const viaEither = (step: Step, index: number): Promise<unknown> => {
      const id = randomUUID();
      return withCommandCause({ correlationId: id, causationId: id }, () => (index % 2 === 0 ? bus : otherBus).execute(step));
    };
    const settle = async (steps: Step[]) => {
      for (const result of await Promise.allSettled(steps.map(viaEither))) {
        if (result.status === 'rejected' && !(result.reason instanceof ConcurrencyConflictError)) throw result.reason;
      }
    };
    await settle(orders.map((orderId) => new ReserveCreditCommand(userId, orderId, 100)));
    await expectConsistent(userId);
    // The same orders closed and reserved again from both instances at once.
    await settle(orders.flatMap((orderId, i) => [i % 2 ? new ReleaseCreditCommand(userId, orderId) : new ConsumeCreditCommand(userId, orderId), new ReserveCreditCommand(userId, orderId, 50)]));
    await expectConsistent(userId);
  } finally {
    await other.close({ keepDatabase: true });
  }
}, 60_000);
