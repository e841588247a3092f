import { CommandBus } from '@nestjs/cqrs';
import { applyProjection, EventSubscriptions, STORED_EVENT_COLUMNS, StoredEvent, withCommandCause } from '../src/event-store';
import { ConfirmOrderCommand } from '../src/modules/orders/commands/confirm-order/confirm-order.command';
import { orderSummariesProjection } from '../src/modules/orders/projections/order-summaries.projection';
import { placeOrder, registerUser } from './support/fixtures';
import { TestApp, eventually, startTestApp } from './support/test-app';

// The saga is off: these tests count and compare the projections' own work.
const WITHOUT_SAGA = { REACTIONS_ENABLED: 'false' };

const ORDER_SUMMARIES = orderSummariesProjection.subscriptionId;

async function snapshot(app: TestApp, table: string) {
  return app.db.query(`SELECT * FROM ${table} ORDER BY id`);
}

async function checkpointPosition(app: TestApp, name: string): Promise<string> {
  const [row] = await app.db.query(`SELECT global_position::text AS position FROM subscription_checkpoints WHERE subscription_id = $1`, [name]);
  return row.position;
}

/** The ids of a customer's orders as the list (the `order_summaries` projection) shows them. */
async function listedOrders(app: TestApp, customerId: string): Promise<Array<{ id: string; status: string }>> {
  return (await app.http().get(`/orders?customerId=${customerId}&limit=100`).expect(200)).body.items;
}

/** The global position of the last event, once every stored event has one (null until then). */
async function lastPosition(app: TestApp): Promise<string | null> {
  const [row] = await app.db.query(
    `SELECT CASE WHEN bool_or(global_position IS NULL) THEN NULL ELSE max(global_position)::text END AS position FROM events`,
  );
  return row.position;
}

describe('projections', () => {
  let app: TestApp;
  let customerId: string;
  const orders: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: WITHOUT_SAGA });
    customerId = await registerUser(app);
    for (let i = 0; i < 5; i++) orders.push(await placeOrder(app, customerId));
    await withCommandCause({ correlationId: 't', causationId: 't' }, () => app.app.get(CommandBus).execute(new ConfirmOrderCommand(orders[0])));
    await app.http().post(`/orders/${orders[1]}/cancel`).send({ reason: 'no' }).expect(202);
    await eventually(async () => expect(await checkpointPosition(app, ORDER_SUMMARIES)).toBe(await lastPosition(app)));
  });
  afterAll(() => app.close());

  it('applying the same events twice leaves the read model unchanged', async () => {
    const events: StoredEvent[] = await app.db.query(
      `SELECT ${STORED_EVENT_COLUMNS} FROM events ORDER BY events.global_position`,
    );
    const ordersBefore = await snapshot(app, 'order_summaries');
    await app.db.transaction(async (transaction) => {
      await applyProjection(orderSummariesProjection, events, transaction);
    });
    expect(await snapshot(app, 'order_summaries')).toEqual(ordersBefore);
    expect(ordersBefore).toHaveLength(5);
  });

  it('catches up from the beginning of the store into an emptied read model, yielding identical rows', async () => {
    const before = await snapshot(app, 'order_summaries');
    await app.db.transaction(async (transaction) => {
      await transaction.query(`SELECT 1 FROM subscription_checkpoints WHERE subscription_id = $1 FOR UPDATE`, [ORDER_SUMMARIES]);
      await transaction.query(`TRUNCATE order_summaries`);
      await transaction.query(
        `UPDATE subscription_checkpoints SET global_position = 0 WHERE subscription_id = $1`,
        [ORDER_SUMMARIES],
      );
    });
    await eventually(async () => expect(await snapshot(app, 'order_summaries')).toEqual(before));
  });
});

describe('projections across a restart', () => {
  it('resume from their checkpoint: events written while the process was down are applied, older ones are not re-read', async () => {
    const first = await startTestApp({ env: WITHOUT_SAGA });
    const customerId = await registerUser(first);
    const before = [await placeOrder(first, customerId), await placeOrder(first, customerId)];
    await eventually(async () => expect(await checkpointPosition(first, ORDER_SUMMARIES)).toBe(await lastPosition(first)));

    // The projection stops (as in a crash of its process) while commands keep being accepted.
    await first.app.get(EventSubscriptions).get(ORDER_SUMMARIES).stop();
    const checkpointAtStop = await checkpointPosition(first, ORDER_SUMMARIES);
    const during = [await placeOrder(first, customerId), await placeOrder(first, customerId), await placeOrder(first, customerId)];
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Not projected while stopped (GET /orders/{id} reads the order's own row and shows it anyway).
    expect((await listedOrders(first, customerId)).map((order) => order.id)).not.toContain(during[0]);
    await first.http().get(`/orders/${during[0]}`).expect(200);
    await first.close({ keepDatabase: true });

    const spy = jest.spyOn(orderSummariesProjection, 'apply');
    const second = await startTestApp({ databaseUrl: first.databaseUrl, brokerPrefix: first.brokerPrefix, env: WITHOUT_SAGA });
    try {
      await eventually(async () => {
        const listed = await listedOrders(second, customerId);
        expect(listed.map((order) => order.id).sort()).toEqual([...before, ...during].sort());
        expect(listed.every((order) => order.status === 'PENDING')).toBe(true);
      });
      const reread = spy.mock.calls.flatMap(([events]) => events.filter((event) => event.streamType === 'Order').map((event) => event.streamId));
      expect(new Set(reread)).toEqual(new Set(during));
      expect(BigInt(await checkpointPosition(second, ORDER_SUMMARIES))).toBeGreaterThan(BigInt(checkpointAtStop));
    } finally {
      spy.mockRestore();
      await second.close();
    }
  });
});
