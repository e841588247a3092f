import { randomUUID } from 'node:crypto';
import { CommandBus } from '@nestjs/cqrs';
import { DurableReactions, EventUpcasters, ProjectionRebuilder, withCommandCause } from '../src/event-store';
import { RejectOrderCommand } from '../src/modules/orders/commands/reject-order/reject-order.command';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { ReserveCreditCommand } from '../src/modules/users/commands/reserve-credit/reserve-credit.command';
import { CliResult, runBuiltCli } from './support/built-cli';
import { lockUserRow, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

const ORDER_FULFILMENT = 'reaction:order-fulfilment';
const ORDER_CREDIT = 'reaction:order-credit';

interface OrderState {
  status: string;
  rejectionReason: string | null;
  total: number;
}

async function placeOrderOf(app: TestApp, customerId: string, amount: number, headers: Record<string, string> = {}): Promise<string> {
  const response = await app
    .http()
    .post('/orders')
    .set(headers)
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'SAGA-1', quantity: 1, unitPrice: amount }] })
    .expect(202);
  return response.body.id;
}

/** The order as the API shows it, once it satisfies `until`. */
async function orderWhen(app: TestApp, id: string, until: (order: OrderState) => boolean, timeoutMs = 15_000): Promise<OrderState> {
  return eventually(async () => {
    const { body } = await app.http().get(`/orders/${id}`).expect(200);
    if (!until(body)) throw new Error(`order ${id} is ${body.status}`);
    return body;
  }, timeoutMs);
}

/** `npm run parked-reactions` from the build, against the test's database. */
function parkedReactionsCli(app: TestApp, ...args: string[]): Promise<CliResult> {
  return runBuiltCli('dist/src/cli/parked-reactions.js', app.databaseUrl, ...args);
}

const decided = (order: OrderState) => order.status === 'CONFIRMED' || order.status === 'REJECTED';

async function creditReservedOf(app: TestApp, userId: string): Promise<number> {
  const [{ reserved }] = await app.db.query(`SELECT credit_reserved::int AS reserved FROM users WHERE id = $1`, [userId]);
  return reserved;
}

/**
 * Waits until the write model holds `expected` reserved; GET /users/{id} and the user's stored
 * events agree (the `creditReserved` its last credit event left, which any read model folds).
 */
async function expectCreditReserved(app: TestApp, userId: string, expected: number): Promise<void> {
  await eventually(async () => {
    expect(await creditReservedOf(app, userId)).toBe(expected);
    expect((await app.http().get(`/users/${userId}`).expect(200)).body.creditReserved).toBe(expected);
    const [{ stored }] = await app.db.query(
      `SELECT coalesce((SELECT (payload->>'creditReserved')::int FROM events
                        WHERE stream_type = 'User' AND stream_id = $1 AND payload ? 'creditReserved'
                        ORDER BY stream_version DESC LIMIT 1), 0) AS stored`,
      [userId],
    );
    expect(stored).toBe(expected);
  }, 15_000);
}

async function eventsOfType(app: TestApp, type: string, orderId: string): Promise<number> {
  const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM events WHERE event_type = $1 AND payload->>'orderId' = $2`, [
    type,
    orderId,
  ]);
  return n;
}

describe('the order saga', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { REACTION_MAX_ATTEMPTS: '3', REACTION_RETRY_BASE_MS: '20' } });
  });
  afterAll(() => app.close());

  it('takes an uppercase customer id as its canonical lowercase form: the order joins the customer\'s partition, its events and Location carry the lowercase id', async () => {
    const customer = await registerUser(app, { creditLimit: 10_000 });
    const shouted = customer.toUpperCase();
    const response = await app
      .http()
      .post('/orders')
      .send({ customerId: shouted, currency: 'EUR', lines: [{ sku: 'CASE-1', quantity: 1, unitPrice: 1_000 }] })
      .expect(202);
    const orderId: string = response.body.id;
    expect(response.headers.location).toBe(`/orders/${orderId}`);

    // Read by its uppercase id too: the path parameter is canonical as well.
    const order = await eventually(async () => {
      const { body } = await app.http().get(`/orders/${orderId.toUpperCase()}`).expect(200);
      if (!decided(body)) throw new Error(`order ${orderId} is ${body.status}`);
      return body;
    }, 15_000);
    expect(order).toMatchObject({ id: orderId, customerId: customer, status: 'CONFIRMED' });
    const payloads: Array<{ type: string; customerId: string | null; userId: string | null }> = await app.db.query(
      `SELECT event_type AS type, payload->>'customerId' AS "customerId", payload->>'userId' AS "userId"
       FROM events WHERE payload->>'orderId' = $1 ORDER BY global_position`,
      [orderId],
    );
    expect(payloads.map(({ type }) => type)).toEqual(['OrderPlaced', 'CreditReserved', 'OrderConfirmed']);
    for (const { customerId, userId } of payloads) expect(customerId ?? userId).toBe(customer);
    await expectCreditReserved(app, customer, 1_000);
  });

  it('confirms an order within the credit limit and reserves its total', async () => {
    const customer = await registerUser(app, { creditLimit: 10_000 });
    const orderId = await placeOrderOf(app, customer, 2_500);

    const order = await orderWhen(app, orderId, decided);
    expect(order).toMatchObject({ status: 'CONFIRMED', total: 2_500 });
    await expectCreditReserved(app, customer, 2_500);
    expect(await eventsOfType(app, 'CreditReserved', orderId)).toBe(1);
  });

  it('rejects an order over the credit limit with the reason, and reserves nothing', async () => {
    const customer = await registerUser(app, { creditLimit: 1_000 });
    const orderId = await placeOrderOf(app, customer, 1_001);

    const order = await orderWhen(app, orderId, decided);
    expect(order).toMatchObject({ status: 'REJECTED', rejectionReason: 'insufficient credit' });
    await expectCreditReserved(app, customer, 0);
  });

  it('lets concurrent orders of one user race for credit: exactly the ones that fit are confirmed, the limit is never exceeded', async () => {
    const customer = await registerUser(app, { creditLimit: 10_000 });
    const orderIds = await Promise.all(Array.from({ length: 40 }, () => placeOrderOf(app, customer, 500)));

    const orders = await Promise.all(orderIds.map((id) => orderWhen(app, id, decided, 30_000)));
    const confirmed = orders.filter((order) => order.status === 'CONFIRMED');
    expect(confirmed).toHaveLength(20);
    expect(orders.filter((order) => order.status === 'REJECTED').every((order) => order.rejectionReason === 'insufficient credit')).toBe(true);
    await expectCreditReserved(app, customer, 10_000);
    const [{ highest }] = await app.db.query(
      `SELECT max((payload->>'creditReserved')::int) AS highest FROM events WHERE stream_id = $1 AND event_type = 'CreditReserved'`,
      [customer],
    );
    expect(highest).toBe(10_000);
  });

  it('after a burst with cancels and shipments, every order is decided and creditReserved is the sum of confirmed, unshipped orders', async () => {
    const customers = await Promise.all(Array.from({ length: 4 }, () => registerUser(app, { creditLimit: 6_000 })));
    const placed = await Promise.all(
      Array.from({ length: 60 }, (_, i) => customers[i % customers.length]).map(async (customer, i) => ({
        customer,
        id: await placeOrderOf(app, customer, 300 + (i % 5) * 100),
      })),
    );
    const outcomes = await Promise.all(placed.map(({ id }) => orderWhen(app, id, decided, 30_000)));
    const confirmed = placed.filter((_, i) => outcomes[i].status === 'CONFIRMED');
    for (const [i, { id }] of confirmed.entries()) {
      if (i % 3 === 0) await app.http().post(`/orders/${id}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      if (i % 3 === 1) await app.http().post(`/orders/${id}/ship`).expect(202);
    }

    for (const customer of customers) {
      const [{ expected }] = await app.db.query(
        `SELECT coalesce(sum(total), 0)::int AS expected FROM orders WHERE customer_id = $1 AND status = 'CONFIRMED'`,
        [customer],
      );
      await expectCreditReserved(app, customer, expected);
    }
    const [{ undecided }] = await app.db.query(
      `SELECT count(*)::int AS undecided FROM orders WHERE customer_id = ANY($1) AND status = 'PENDING'`,
      [customers],
    );
    expect(undecided).toBe(0);

    // Rebuilding the read model from the store (credit events included) yields the same rows.
    const rebuilder = new ProjectionRebuilder(app.db, app.app.get(EventUpcasters));
    const result = await rebuilder.rebuild(orderSummariesProjection, { batchSize: 200, acceptDifferences: false });
    expect(result).toMatchObject({ swapped: true, differences: { onlyInLive: 0, onlyInRebuilt: 0 } });
  });

  it('never answers 409 to a customer changing their email while the saga updates their credit', async () => {
    const customer = await registerUser(app, { creditLimit: 1_000_000 });
    const orders = Promise.all(Array.from({ length: 30 }, () => placeOrderOf(app, customer, 100)));
    for (let i = 0; i < 10; i++) {
      await app.http().put(`/users/${customer}/email`).send({ email: `racer-${i}-${customer}@example.com` }).expect(204);
    }
    await Promise.all((await orders).map((id) => orderWhen(app, id, decided)));
    await expectCreditReserved(app, customer, 3_000);
  });

  it('releases the credit of a cancelled CONFIRMED order (compensation), caused by the cancellation', async () => {
    const customer = await registerUser(app, { creditLimit: 5_000 });
    const orderId = await placeOrderOf(app, customer, 1_200);
    await orderWhen(app, orderId, (order) => order.status === 'CONFIRMED');
    await expectCreditReserved(app, customer, 1_200);

    await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'no longer needed' }).expect(202);

    await expectCreditReserved(app, customer, 0);
    const [released] = await app.db.query(
      `SELECT metadata->>'causationId' AS cause FROM events WHERE event_type = 'CreditReleased' AND payload->>'orderId' = $1`,
      [orderId],
    );
    const [cancelled] = await app.db.query(`SELECT event_id AS id FROM events WHERE event_type = 'OrderCancelled' AND stream_id = $1`, [orderId]);
    expect(released.cause).toBe(cancelled.id);
  });

  it.each([
    {
      decided: 'cancelled by the customer',
      status: 'CANCELLED',
      closedBy: 'OrderCancelled',
      decide: (orderId: string) => app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202),
    },
    {
      decided: 'rejected by its deadline',
      status: 'REJECTED',
      closedBy: 'OrderRejected',
      decide: (orderId: string) =>
        withCommandCause({ correlationId: `deadline-${orderId}`, causationId: orderId }, () => app.app.get(CommandBus).execute(new RejectOrderCommand(orderId, 'timeout'))),
    },
  ])('gives back, once, credit reserved for an order $decided before the Orders saga confirmed it', async ({ status, closedBy, decide }) => {
    const customer = await registerUser(app, { creditLimit: 5_000 });
    // The Orders saga is held back: the Users saga reserves the credit, then the order is decided
    // without it, before the Orders saga takes CreditReserved.
    const ordersSaga = app.app.get(DurableReactions).get(ORDER_FULFILMENT);
    await ordersSaga.stop();
    let orderId: string;
    try {
      orderId = await placeOrderOf(app, customer, 900);
      await eventually(async () => expect(await creditReservedOf(app, customer)).toBe(900));
      await decide(orderId);
    } finally {
      await ordersSaga.start();
    }

    // The Users saga gives the credit back on the order's closing event; the Orders saga then
    // declines the late answer (OrderCreditDeclined), whose release finds nothing left.
    const [closing] = await app.db.query(`SELECT event_id AS id FROM events WHERE event_type = $1 AND stream_id = $2`, [closedBy, orderId]);
    const declined = await eventually(async () => {
      const rows = await app.db.query(
        `SELECT e.event_id AS id FROM events e JOIN reaction_receipts r ON r.event_id = e.event_id AND r.subscription_id = $2 AND r.step = '*'
         WHERE e.event_type = 'OrderCreditDeclined' AND e.stream_id = $1`,
        [orderId, ORDER_CREDIT],
      );
      expect(rows).toHaveLength(1);
      return rows[0];
    });
    expect(declined.id).toBeDefined();
    await expectCreditReserved(app, customer, 0);
    const released = await app.db.query(`SELECT metadata FROM events WHERE event_type = 'CreditReleased' AND payload->>'orderId' = $1`, [orderId]);
    expect(released).toHaveLength(1);
    expect(released[0].metadata).toMatchObject({
      causationId: closing.id,
      command: { name: 'ReleaseCreditCommand', reaction: ORDER_CREDIT, step: 'releaseCreditOfClosedOrder' },
    });
    // Released in the step's transaction, which recorded its receipt: the customer's row, last
    // written by the release, carries that transaction's id (events' rows do not: the sequencer
    // numbers them later).
    const [receipt] = await app.db.query(`SELECT xmin::text AS tx FROM reaction_receipts WHERE subscription_id = $1 AND event_id = $2 AND step = $3`, [
      ORDER_CREDIT,
      closing.id,
      'releaseCreditOfClosedOrder',
    ]);
    const [customerRow] = await app.db.query(`SELECT xmin::text AS tx FROM users WHERE id = $1`, [customer]);
    expect(customerRow.tx).toBe(receipt.tx);
    expect(await eventsOfType(app, 'OrderConfirmed', orderId)).toBe(0);
    expect((await app.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe(status);
  });

  it('gives back, once, credit reserved after the Users saga had taken the order closing (a parked reservation retried): the order declines it', async () => {
    const customer = await registerUser(app, { creditLimit: 5_000 });
    const creditSaga = app.app.get(DurableReactions).get(ORDER_CREDIT);
    await creditSaga.stop();
    let orderId: string;
    try {
      orderId = await placeOrderOf(app, customer, 600);
      await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      // Reserving this customer's credit fails (as a constraint added by a bad deploy would).
      await app.db.query(`
        CREATE FUNCTION refuse_credit_reservation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id = '${customer}' AND NEW.credit_reserved > OLD.credit_reserved THEN RAISE EXCEPTION 'credit reservation refused (test fault)'; END IF;
          RETURN NEW;
        END $$`);
      await app.db.query(`CREATE TRIGGER refuse_credit_reservation BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION refuse_credit_reservation()`);
    } finally {
      await creditSaga.start();
    }
    const [placed] = await app.db.query(`SELECT event_id AS id FROM events WHERE event_type = 'OrderPlaced' AND stream_id = $1`, [orderId]);
    const [cancelled] = await app.db.query(`SELECT event_id AS id FROM events WHERE event_type = 'OrderCancelled' AND stream_id = $1`, [orderId]);
    try {
      // The reservation is parked; the partition goes on to the closing event, which finds no reservation.
      await eventually(async () => {
        expect(await app.db.query(`SELECT step FROM parked_reactions WHERE reaction = $1 AND event_id = $2`, [ORDER_CREDIT, placed.id])).toEqual([
          { step: 'reserveCreditForPlacedOrder' },
        ]);
        expect(await app.db.query(`SELECT 1 FROM reaction_receipts WHERE subscription_id = $1 AND event_id = $2 AND step = '*'`, [ORDER_CREDIT, cancelled.id])).toHaveLength(1);
      }, 20_000);
      expect(await eventsOfType(app, 'CreditReleased', orderId)).toBe(0);
    } finally {
      await app.db.query(`DROP TRIGGER refuse_credit_reservation ON users`);
      await app.db.query(`DROP FUNCTION refuse_credit_reservation()`);
    }

    // The operator's retry reserves the credit late; the Orders saga declines it for the
    // cancelled order, and the Users saga gives it back.
    expect((await app.http().post('/admin/parked-reactions/retry').expect(202)).body).toEqual({ requested: 1 });
    const released = await eventually(async () => {
      const rows = await app.db.query(`SELECT metadata FROM events WHERE event_type = 'CreditReleased' AND payload->>'orderId' = $1`, [orderId]);
      expect(rows).toHaveLength(1);
      return rows[0];
    });
    const [declined] = await app.db.query(`SELECT event_id AS id FROM events WHERE event_type = 'OrderCreditDeclined' AND stream_id = $1`, [orderId]);
    expect(released.metadata).toMatchObject({
      causationId: declined.id,
      command: { name: 'ReleaseCreditCommand', reaction: ORDER_CREDIT, step: 'releaseCreditDeclinedByOrder' },
    });
    await expectCreditReserved(app, customer, 0);
    expect(await eventsOfType(app, 'CreditReserved', orderId)).toBe(1);
    expect(await eventsOfType(app, 'OrderConfirmed', orderId)).toBe(0);
    expect((await app.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('CANCELLED');
  });

  it('parks the release steps that fail, and on a retry from the admin API gives the credit back once', async () => {
    const customer = await registerUser(app, { creditLimit: 5_000 });
    const reactions = app.app.get(DurableReactions);
    await reactions.get(ORDER_CREDIT).stop();
    await reactions.get(ORDER_FULFILMENT).stop();
    const orders: string[] = [];
    try {
      // Two orders, so the customer's partition has a backlog (taken in a chunk, one transaction).
      for (const amount of [300, 400]) orders.push(await placeOrderOf(app, customer, amount));
      for (const [index, orderId] of orders.entries()) {
        await withCommandCause({ correlationId: `late-${orderId}`, causationId: orderId }, () =>
          app.app.get(CommandBus).execute(new ReserveCreditCommand(customer, orderId, [300, 400][index])),
        );
      }
      for (const orderId of orders) await app.http().post(`/orders/${orderId}/cancel`).send({ reason: 'changed my mind' }).expect(202);
      // Giving this customer's credit back fails (as a constraint added by a bad deploy would).
      await app.db.query(`
        CREATE FUNCTION refuse_credit_release() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.id = '${customer}' AND NEW.credit_reserved < OLD.credit_reserved THEN RAISE EXCEPTION 'credit release refused (test fault)'; END IF;
          RETURN NEW;
        END $$`);
      await app.db.query(`CREATE TRIGGER refuse_credit_release BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION refuse_credit_release()`);
    } finally {
      await reactions.get(ORDER_FULFILMENT).start();
      await reactions.get(ORDER_CREDIT).start();
    }

    // Each order's event, in the order the orders' events were appended.
    const eventIds = async (type: string): Promise<string[]> => {
      const ids: string[] = [];
      for (const orderId of orders) {
        const [{ id }] = await eventually(async () => {
          const rows = await app.db.query(`SELECT event_id AS id FROM events WHERE event_type = $1 AND payload->>'orderId' = $2`, [type, orderId]);
          expect(rows).toHaveLength(1);
          return rows;
        });
        ids.push(id);
      }
      return ids;
    };
    const cancelled = await eventIds('OrderCancelled');
    // The Orders saga declines the credit reserved for the cancelled orders.
    const declined = await eventIds('OrderCreditDeclined');
    const parkedOf = () =>
      app.db.query(`SELECT event_id, step, attempts FROM parked_reactions WHERE reaction = $1 AND event_id = ANY($2) ORDER BY event_position`, [
        ORDER_CREDIT,
        [...cancelled, ...declined],
      ]);
    try {
      // The compensation and the release of the declined credit both fail: parked.
      await eventually(async () => {
        expect(await parkedOf()).toEqual([
          ...cancelled.map((eventId) => ({ event_id: eventId, step: 'releaseCreditOfClosedOrder', attempts: 3 })),
          ...declined.map((eventId) => ({ event_id: eventId, step: 'releaseCreditDeclinedByOrder', attempts: 3 })),
        ]);
      }, 20_000);
      expect(await creditReservedOf(app, customer)).toBe(700);
    } finally {
      await app.db.query(`DROP TRIGGER refuse_credit_release ON users`);
      await app.db.query(`DROP FUNCTION refuse_credit_release()`);
    }

    // Retried in the order of their events: the compensation gives the credit back, the release
    // of the declined credit finds nothing left.
    expect((await app.http().post('/admin/parked-reactions/retry').expect(202)).body).toEqual({ requested: 4 });
    await eventually(async () => expect(await parkedOf()).toEqual([]));
    await expectCreditReserved(app, customer, 0);
    for (const [index, orderId] of orders.entries()) {
      const released = await app.db.query(`SELECT metadata FROM events WHERE event_type = 'CreditReleased' AND payload->>'orderId' = $1`, [orderId]);
      expect(released).toHaveLength(1);
      expect(released[0].metadata).toMatchObject({ causationId: cancelled[index], command: { name: 'ReleaseCreditCommand', step: 'releaseCreditOfClosedOrder' } });
      expect(await eventsOfType(app, 'OrderConfirmed', orderId)).toBe(0);
      expect((await app.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('CANCELLED');
    }
  });

  it('consumes the reservation when the order ships', async () => {
    const customer = await registerUser(app, { creditLimit: 5_000 });
    const orderId = await placeOrderOf(app, customer, 800);
    await orderWhen(app, orderId, (order) => order.status === 'CONFIRMED');

    await app.http().post(`/orders/${orderId}/ship`).expect(202);

    await expectCreditReserved(app, customer, 0);
    expect(await eventsOfType(app, 'CreditConsumed', orderId)).toBe(1);
  });

  it('rejects the PENDING orders of a deactivated user and no later reservation revives them', async () => {
    const customer = await registerUser(app, { creditLimit: 50_000 });
    const confirmedId = await placeOrderOf(app, customer, 1_000);
    await orderWhen(app, confirmedId, (order) => order.status === 'CONFIRMED');
    // Both sagas are held back while three orders are placed and the customer is deactivated.
    const sagas = [ORDER_FULFILMENT, ORDER_CREDIT].map((id) => app.app.get(DurableReactions).get(id));
    for (const saga of sagas) await saga.stop();
    let pending: string[];
    try {
      pending = await Promise.all([1, 2, 3].map(() => placeOrderOf(app, customer, 700)));
      await app.http().post(`/users/${customer}/deactivate`).expect(204);
    } finally {
      for (const saga of sagas) await saga.start();
    }
    for (const id of pending) {
      expect(await orderWhen(app, id, (order) => order.status !== 'PENDING')).toMatchObject({
        status: 'REJECTED',
        rejectionReason: 'customer deactivated',
      });
    }

    // The saga catches up on the placed orders: the user refuses credit, the orders stay rejected.
    await eventually(async () => {
      for (const id of pending) expect(await eventsOfType(app, 'CreditRejected', id)).toBe(1);
    });
    const orderPlacedLater = await placeOrderOf(app, customer, 10);
    expect(await orderWhen(app, orderPlacedLater, decided)).toMatchObject({ status: 'REJECTED', rejectionReason: 'customer deactivated' });
    expect((await app.http().get(`/orders/${confirmedId}`).expect(200)).body.status).toBe('CONFIRMED');
    await expectCreditReserved(app, customer, 1_000);
  });

  it('keeps a failing reaction from stopping the others: retried with back-off, parked, reported, and retried on request', async () => {
    // An order whose customer does not exist (as a restore gone wrong could leave it): reserving
    // credit for it fails every time.
    const strayOrder = randomUUID();
    const strayCustomer = randomUUID();
    const placedAt = new Date().toISOString();
    await app.db.transaction(async (db) => {
      await db.query(
        `INSERT INTO orders (id, customer_id, status, currency, lines, total, version, created_at, updated_at)
         VALUES ($1, $2, 'PENDING', 'EUR', '[{"sku":"STRAY","quantity":1,"unitPrice":70}]', 70, 1, $3, $3)`,
        [strayOrder, strayCustomer, placedAt],
      );
      await db.query(
        `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
         VALUES ($1, 'Order', $2, 1, 'OrderPlaced', 2, $3, $4)`,
        [
          randomUUID(),
          strayOrder,
          JSON.stringify({ orderId: strayOrder, customerId: strayCustomer, lines: [{ sku: 'STRAY', quantity: 1, unitPrice: 70 }], total: { amount: 70, currency: 'EUR' }, placedAt }),
          JSON.stringify({ correlationId: 'stray', causationId: 'stray', occurredAt: placedAt }),
        ],
      );
    });
    const customer = await registerUser(app, { creditLimit: 5_000 });
    const healthyOrder = await placeOrderOf(app, customer, 100);

    expect(await orderWhen(app, healthyOrder, decided)).toMatchObject({ status: 'CONFIRMED' });
    const parked = await eventually(async () => {
      const rows = await app.db.query(`SELECT reaction, step, event_type, attempts, last_error FROM parked_reactions WHERE stream_id = $1`, [strayOrder]);
      expect(rows).toHaveLength(1);
      return rows[0];
    });
    expect(parked).toMatchObject({ reaction: ORDER_CREDIT, step: 'reserveCreditForPlacedOrder', event_type: 'OrderPlaced', attempts: 3 });
    expect(parked.last_error).toContain('UserNotFoundError');
    const health = (await app.http().get('/health').expect(200)).body;
    expect(health.details.reactions).toEqual({ status: 'up', parked: 1 });
    const listed = await parkedReactionsCli(app, 'list');
    expect(listed).toMatchObject({ code: 0 });
    expect(listed.stdout).toContain(`${ORDER_CREDIT}\treserveCreditForPlacedOrder\tOrderPlaced`);

    // An operator restores the missing customer and asks for a retry: the saga goes on from there.
    await app.db.transaction(async (db) => {
      await db.query(
        `INSERT INTO users (id, email, name, status, credit_limit, credit_reserved, version, created_at, updated_at)
         VALUES ($1, $2, 'Restored', 'ACTIVE', 1000, 0, 1, $3, $3)`,
        [strayCustomer, `restored-${strayCustomer}@example.com`, placedAt],
      );
      await db.query(
        `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, payload, metadata)
         VALUES ($1, 'User', $2, 1, 'UserRegistered', $3, $4)`,
        [
          randomUUID(),
          strayCustomer,
          JSON.stringify({ userId: strayCustomer, email: `restored-${strayCustomer}@example.com`, name: 'Restored', creditLimit: 1000, registeredAt: placedAt }),
          JSON.stringify({ correlationId: 'restore', causationId: 'restore', occurredAt: placedAt }),
        ],
      );
    });
    expect(await parkedReactionsCli(app, 'retry', '--all')).toMatchObject({ code: 0 });

    expect(await orderWhen(app, strayOrder, decided)).toMatchObject({ status: 'CONFIRMED' });
    await expectCreditReserved(app, strayCustomer, 70);
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM parked_reactions`);
    expect(n).toBe(0);
  });

  it('traces one request through the saga: the same correlation id, each step caused by the one before', async () => {
    const customer = await registerUser(app, { creditLimit: 5_000 });
    const correlationId = `trace-${randomUUID()}`;
    const orderId = await placeOrderOf(app, customer, 400, { 'X-Correlation-Id': correlationId });
    await orderWhen(app, orderId, (order) => order.status === 'CONFIRMED');

    const orderStream = (await app.http().get(`/streams/${orderId}/events`).expect(200)).body.events;
    const userStream = (await app.http().get(`/streams/${customer}/events`).expect(200)).body.events;
    const placed = orderStream.find((event: { type: string }) => event.type === 'OrderPlaced');
    const reserved = userStream.find((event: { type: string; payload: { orderId?: string } }) => event.type === 'CreditReserved' && event.payload.orderId === orderId);
    const confirmed = orderStream.find((event: { type: string }) => event.type === 'OrderConfirmed');

    expect(placed.metadata.correlationId).toBe(correlationId);
    expect(reserved.metadata).toMatchObject({ correlationId, causationId: placed.eventId });
    expect(confirmed.metadata).toMatchObject({ correlationId, causationId: reserved.eventId });
  });
});

// More in order-deadlines.e2e-spec.ts.
describe('order deadlines', () => {
  it('rejects an order whose credit answer does not come within the timeout with reason "timeout", and gives back credit reserved too late', async () => {
    const app = await startTestApp({ env: { ORDER_CONFIRMATION_TIMEOUT_MS: '300', ORDER_DEADLINE_POLL_MS: '50' } });
    try {
      const customer = await registerUser(app, { creditLimit: 5_000 });
      // The order's deadline starts with its placement, but its credit step cannot finish: the
      // customer's row is locked by another transaction.
      const customerLock = await lockUserRow(app, customer);
      let orderId: string;
      try {
        orderId = await placeOrderOf(app, customer, 900);
        expect(await orderWhen(app, orderId, (order) => order.status !== 'PENDING')).toMatchObject({ status: 'REJECTED', rejectionReason: 'timeout' });
      } finally {
        await customerLock.release();
      }
      // The reservation still happens once the saga catches up, and is released at once.
      await eventually(async () => expect(await eventsOfType(app, 'CreditReleased', orderId)).toBe(1));
      await expectCreditReserved(app, customer, 0);
      expect((await app.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe('REJECTED');
    } finally {
      await app.close();
    }
  });
});
