import { Module } from '@nestjs/common';
import { EventBus, EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { DurableReaction, originOf } from '../src/event-store';
import { causeOf } from '../src/event-store/reactions/event-origin';
import { OrderConfirmedEvent } from '../src/modules/orders/domain/order.events';
import { placeOrder, registerUser } from './support/fixtures';
import { eventually, startTestApp, TestApp } from './support/test-app';

/** Fails the first time it sees each order, then records it: a handler with a transient fault. */
@EventsHandler(OrderConfirmedEvent)
@DurableReaction({ id: 'test.flaky-confirmation' })
class FlakyConfirmationHandler implements IEventHandler<OrderConfirmedEvent> {
  static readonly calls: Array<{ orderId: string; instance: boolean; causationId: string; version?: number }> = [];
  static readonly applied: string[] = [];
  private readonly failedOnce = new Set<string>();

  handle(event: OrderConfirmedEvent): void {
    FlakyConfirmationHandler.calls.push({
      orderId: event.orderId,
      instance: event instanceof OrderConfirmedEvent,
      causationId: causeOf(originOf(event)!).causationId,
      version: originOf(event)?.streamVersion,
    });
    if (!this.failedOnce.has(event.orderId)) {
      this.failedOnce.add(event.orderId);
      throw new Error(`transient fault for ${event.orderId}`);
    }
    FlakyConfirmationHandler.applied.push(event.orderId);
  }
}

@Module({ providers: [FlakyConfirmationHandler] })
class FlakyHandlerModule {}

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ env: { REACTION_RETRY_BASE_MS: '10' }, extraModules: [FlakyHandlerModule] });
});
afterAll(() => app.close());

describe('@EventsHandler classes, delivered from the event store', () => {
  it('get instances of the event class from the store, are retried after a failure and apply each event once', async () => {
    const customer = await registerUser(app, { creditLimit: 1_000_000 });
    const orders = await Promise.all(Array.from({ length: 5 }, () => placeOrder(app, customer)));

    await eventually(async () => expect([...FlakyConfirmationHandler.applied].sort()).toEqual([...orders].sort()), 20_000);

    const calls = FlakyConfirmationHandler.calls;
    expect(calls.every((call) => call.instance && call.version === 2)).toBe(true);
    for (const orderId of orders) expect(calls.filter((call) => call.orderId === orderId)).toHaveLength(2);
    const [{ id: confirmedEventId }] = await app.db.query(`SELECT event_id AS id FROM events WHERE stream_id = $1 AND event_type = 'OrderConfirmed'`, [orders[0]]);
    expect(calls.find((call) => call.orderId === orders[0])?.causationId).toBe(confirmedEventId);
    const [{ n }] = await app.db.query(`SELECT count(*)::int AS n FROM parked_reactions`);
    expect(n).toBe(0);
  });

  it('refuses events published on the in-memory EventBus, which would bypass the store and run reactions twice', () => {
    const event = new OrderConfirmedEvent({ orderId: 'o', customerId: 'c', total: { amount: 1, currency: 'EUR' }, confirmedAt: new Date().toISOString() });

    expect(() => app.app.get(EventBus).publish(event)).toThrow(/OrderConfirmedEvent was published on the in-memory EventBus/);
    expect(FlakyConfirmationHandler.calls.filter((call) => call.orderId === 'o')).toHaveLength(0);
  });
});

/** Meets a deadlock (SQLSTATE 40P01) six times before it gets through: the database's fault, not its own. */
@EventsHandler(OrderConfirmedEvent)
@DurableReaction({ id: 'test.deadlocked-confirmation' })
class DeadlockedConfirmationHandler implements IEventHandler<OrderConfirmedEvent> {
  static failures = 0;
  static readonly applied: string[] = [];

  handle(event: OrderConfirmedEvent): void {
    if (DeadlockedConfirmationHandler.failures < 6) {
      DeadlockedConfirmationHandler.failures += 1;
      throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
    }
    DeadlockedConfirmationHandler.applied.push(event.orderId);
  }
}

@Module({ providers: [DeadlockedConfirmationHandler] })
class DeadlockedHandlerModule {}

describe('a reaction step that meets a database failure', () => {
  it('is retried without counting attempts, so it is never parked for it', async () => {
    const other = await startTestApp({ env: { REACTION_RETRY_BASE_MS: '10', REACTION_MAX_ATTEMPTS: '3' }, extraModules: [DeadlockedHandlerModule] });
    try {
      const customer = await registerUser(other, { creditLimit: 1_000_000 });
      const orderId = await placeOrder(other, customer);
      await eventually(async () => expect(DeadlockedConfirmationHandler.applied).toEqual([orderId]), 20_000);
      expect(DeadlockedConfirmationHandler.failures).toBe(6);
      const [{ n }] = await other.db.query(`SELECT count(*)::int AS n FROM parked_reactions`);
      expect(n).toBe(0);
    } finally {
      await other.close();
    }
  });
});
