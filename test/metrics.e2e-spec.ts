import { randomUUID } from 'node:crypto';
import { Injectable, Module } from '@nestjs/common';
import { CommandBus, EventsHandler, IEventHandler } from '@nestjs/cqrs';
import { Client } from 'pg';
import {
  CreditRejectedV1,
  CreditReservedV1,
  OrderConfirmedV1,
  OrderPlacedV1,
  OrderRejectedV1,
  UserRegisteredV1,
} from '../src/contracts';
import { DurableReaction, DurableReactions, EventSequencer, EventSubscriptions } from '../src/event-store';
import { IntegrationEventPublisher } from '../src/messaging/integration-event-publisher';
import { OutboxRelay, RELAY_CHECKPOINT } from '../src/messaging/relay/outbox-relay';
import { ChangeUserEmailCommand } from '../src/modules/users/commands/change-user-email/change-user-email.command';
import { UserRegisteredEvent } from '../src/modules/users/domain/user.events';
import { AfterListening } from '../src/shared/after-listening';
import { ConsumerProcess } from './support/consumer-process';
import { registerUser } from './support/fixtures';
import { PrometheusScrape } from './support/prometheus-text';
import { messageCount, publishRaw, withBrokerChannel } from './support/test-broker';
import { eventually, startTestApp, type TestApp } from './support/test-app';
import { testCloudEvent } from './support/test-cloud-events';
import { type ApiWithConsumer, startApiWithConsumer } from './support/api-with-consumer';

/**
 * Changes every registered user's email (an event appended in the reaction's transaction), then
 * refuses one user's registration: its chunk is rolled back, with that event's append, and runs again without it.
 */
@Injectable()
@EventsHandler(UserRegisteredEvent)
@DurableReaction({ id: 'test.metrics-chunked', replaysHistory: true, partitionBy: () => 'everyone' })
class ChangeEmailOnRegistration implements IEventHandler<UserRegisteredEvent> {
  static refusedUser = '';

  constructor(private readonly commands: CommandBus) {}

  async handle(event: UserRegisteredEvent): Promise<void> {
    await this.commands.execute(new ChangeUserEmailCommand(event.userId, `changed-${event.userId}@example.com`));
    if (event.userId === ChangeEmailOnRegistration.refusedUser) throw new Error('refused after appending');
  }
}

@Module({ providers: [ChangeEmailOnRegistration] })
class ChangeEmailModule {}

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const CONSUMER_RETRY_DELAYS_MS = [100, 200];
let api: TestApp;
let consumer: ConsumerProcess;
let consumerDb: Client;
let apps: ApiWithConsumer;

beforeAll(async () => {
  ({ api, consumer, consumerDb } = apps = await startApiWithConsumer({ consumerMaxAttempts: 3, retryDelaysMs: CONSUMER_RETRY_DELAYS_MS }));
}, 60_000);

afterAll(() => apps?.close());

async function scrapeApi(): Promise<PrometheusScrape> {
  const response = await api.http().get('/metrics').expect(200);
  expect(response.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
  return PrometheusScrape.parse(response.text);
}

async function scrapeConsumer(): Promise<PrometheusScrape> {
  const response = await fetch(`${consumer.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE);
  return PrometheusScrape.parse(await response.text());
}

async function order(customerId: string, unitPrice: number): Promise<string> {
  const response = await api
    .http()
    .post('/orders')
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'METRIC', quantity: 1, unitPrice }] })
    .expect(202);
  return response.body.id;
}

async function statusOf(orderId: string, status: string): Promise<void> {
  await eventually(async () => expect((await api.http().get(`/orders/${orderId}`).expect(200)).body.status).toBe(status));
}

/** The HTTP histogram's series of one route and status: its count, checked against its +Inf bucket and sum. */
function requestsTo(scrape: PrometheusScrape, method: string, route: string, status: number): number {
  const labels = { method, route, status_code: String(status) };
  const count = scrape.sum('http_request_duration_seconds_count', labels);
  if (count > 0) {
    expect(scrape.value('http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(count);
    expect(scrape.value('http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  }
  return count;
}

function expectProcessMetrics(scrape: PrometheusScrape): void {
  expect(scrape.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
  expect(scrape.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  expect(scrape.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  expect(scrape.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
}

describe('GET /metrics on the API and on the consumer app', () => {
  it('reports what a few commands did, from the HTTP request through the saga and the relay to the consumer', async () => {
    // Driven: a customer, an order the saga confirms, one it rejects (insufficient credit), an
    // order for an unknown customer (404), cancelling the rejected order (409), an unknown URL.
    const customer = await registerUser(api, { creditLimit: 3_000 });
    const confirmed = await order(customer, 1_000);
    const rejected = await order(customer, 5_000);
    await statusOf(confirmed, 'CONFIRMED');
    await statusOf(rejected, 'REJECTED');
    await api
      .http()
      .post('/orders')
      .send({ customerId: randomUUID(), currency: 'EUR', lines: [{ sku: 'METRIC', quantity: 1, unitPrice: 1 }] })
      .expect(404);
    await api.http().post(`/orders/${rejected}/cancel`).send({ reason: 'too late' }).expect(409);
    await api.http().get(`/no-such-route/${randomUUID()}`).expect(404);

    // On the consumer: one message that fails on its own (a trigger refuses its notification),
    // retried twice and parked; one that is no event at all, parked at once.
    const poisoned = randomUUID();
    await consumerDb.query(`
      CREATE FUNCTION refuse_poisoned_customer() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.customer_id = '${poisoned}' THEN RAISE EXCEPTION 'notification service down for this customer'; END IF;
        RETURN NEW;
      END $$`);
    await consumerDb.query(`CREATE TRIGGER refuse_poisoned_customer BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION refuse_poisoned_customer()`);
    await publishRaw(
      api.topology,
      UserRegisteredV1.type,
      testCloudEvent(UserRegisteredV1, { userId: poisoned, email: 'p@example.com', name: 'P', registeredAt: new Date().toISOString() }, poisoned, 1),
    );
    await publishRaw(api.topology, UserRegisteredV1.type, Buffer.from('{not json'));

    // Everything stored reaches the consumer; both bad messages end in the dead-letter queue.
    const [{ stored }] = await api.db.query(`SELECT count(*)::int AS stored FROM events`);
    await eventually(async () => {
      const { rows } = await consumerDb.query(`SELECT count(*)::int AS applied FROM inbox`);
      expect(rows[0].applied).toBe(stored);
      expect(await messageCount(api.topology.deadLetterQueue)).toBe(2);
    }, 30_000);

    // The API, once every reader caught up (a reaction's checkpoint follows its work within a second).
    const readers = [...api.app.get(EventSubscriptions).names, ...api.app.get(DurableReactions).subscriptionIds, RELAY_CHECKPOINT];
    const scrape = await eventually(async () => {
      const latest = await scrapeApi();
      for (const subscription of readers) {
        expect([subscription, latest.value('eda_subscription_lag_events', { subscription, segment: '0' })]).toEqual([subscription, 0]);
        expect([subscription, latest.value('eda_subscription_lag_seconds', { subscription, segment: '0' })]).toEqual([subscription, 0]);
      }
      return latest;
    }, 15_000);
    expect(scrape.find('eda_subscription_lag_events')).toHaveLength(readers.length);

    // HTTP requests by route pattern, never the raw URL.
    expect(requestsTo(scrape, 'POST', '/users', 201)).toBe(1);
    expect(requestsTo(scrape, 'POST', '/orders', 202)).toBe(2);
    expect(requestsTo(scrape, 'POST', '/orders', 404)).toBe(1);
    expect(requestsTo(scrape, 'POST', '/orders/:id/cancel', 409)).toBe(1);
    expect(requestsTo(scrape, 'GET', '/orders/:id', 200)).toBeGreaterThanOrEqual(2);
    expect(requestsTo(scrape, 'GET', 'unmatched', 404)).toBe(1);
    expect(scrape.find('http_request_duration_seconds_count').filter((sample) => sample.labels.route.includes(confirmed))).toEqual([]);

    // Commands by outcome, from HTTP and from the saga alike.
    const commands = (command: string, outcome: string, error?: string) =>
      scrape.sum('eda_commands_total', { command, outcome, ...(error && { error }) });
    expect(commands('RegisterUserCommand', 'success')).toBe(1);
    expect(commands('PlaceOrderCommand', 'success')).toBe(2);
    expect(commands('PlaceOrderCommand', 'rejected', 'CUSTOMER_NOT_FOUND')).toBe(1);
    expect(commands('CancelOrderCommand', 'rejected', 'ORDER_NOT_CANCELLABLE')).toBe(1);
    expect(commands('ReserveCreditCommand', 'success')).toBe(2);
    expect(commands('ConfirmOrderCommand', 'success')).toBe(1);
    expect(commands('RejectOrderCommand', 'success')).toBe(1);
    expect(scrape.sum('eda_commands_total', { outcome: 'failed' })).toBe(0);

    // Events appended by type: each committed event counted once, in or out of a transaction.
    expect(scrape.value('eda_events_appended_total', { type: 'UserRegistered' })).toBe(1);
    expect(scrape.value('eda_events_appended_total', { type: 'OrderPlaced' })).toBe(2);
    expect(scrape.value('eda_events_appended_total', { type: 'CreditReserved' })).toBe(1);
    expect(scrape.value('eda_events_appended_total', { type: 'CreditRejected' })).toBe(1);
    expect(scrape.value('eda_events_appended_total', { type: 'OrderConfirmed' })).toBe(1);
    expect(scrape.value('eda_events_appended_total', { type: 'OrderRejected' })).toBe(1);
    expect(scrape.sum('eda_events_appended_total')).toBe(stored);

    // The saga's outcomes.
    expect(scrape.value('eda_orders_confirmed_total')).toBe(1);
    expect(scrape.value('eda_orders_rejected_total', { reason: 'insufficient_credit' })).toBe(1);
    expect(scrape.find('eda_orders_rejected_total')).toHaveLength(1);

    // The relay: every stored event published once and confirmed, nothing returned or failed.
    expect(scrape.sum('eda_relay_messages_published_total')).toBe(stored);
    for (const { labels, value } of scrape.find('eda_relay_messages_published_total')) {
      expect([labels.type, scrape.value('eda_relay_messages_confirmed_total', labels)]).toEqual([labels.type, value]);
    }
    expect(scrape.value('eda_relay_messages_published_total', { type: OrderPlacedV1.type })).toBe(2);
    expect(scrape.sum('eda_relay_messages_returned_total') + scrape.sum('eda_relay_messages_failed_total')).toBe(0);

    // Parked reactions: every reaction shows, none parked.
    const reactions = api.app.get(DurableReactions).subscriptionIds;
    expect(reactions.length).toBeGreaterThan(0);
    for (const reaction of reactions) expect(scrape.value('eda_reactions_parked', { reaction })).toBe(0);

    // The database pool (DATABASE_POOL_SIZE 30 in the tests) and the process.
    expect(scrape.value('eda_db_pool_connections_max')).toBe(30);
    expect(scrape.value('eda_db_pool_connections_in_use')).toBeGreaterThanOrEqual(0);
    expect(scrape.value('eda_db_pool_connections_in_use') + scrape.value('eda_db_pool_connections_idle')).toBeGreaterThan(0);
    expect(scrape.value('eda_db_pool_connections_in_use') + scrape.value('eda_db_pool_connections_idle')).toBeLessThanOrEqual(30);
    expect(scrape.value('eda_db_pool_requests_waiting')).toBe(0);
    expectProcessMetrics(scrape);

    // The consumer: what it applied matches what the relay confirmed, type by type.
    await consumer.get(`/customers/${customer}/stats`);
    const consumed = await scrapeConsumer();
    const applied = (type: string) => consumed.sum('eda_consumer_messages_processed_total', { type, outcome: 'applied' });
    for (const type of [UserRegisteredV1.type, OrderPlacedV1.type, CreditReservedV1.type, CreditRejectedV1.type, OrderConfirmedV1.type, OrderRejectedV1.type]) {
      expect([type, applied(type)]).toEqual([type, scrape.value('eda_relay_messages_confirmed_total', { type })]);
    }
    expect(consumed.sum('eda_consumer_messages_processed_total', { outcome: 'applied' })).toBe(stored);
    expect(consumed.value('eda_consumer_messages_retried_total', { type: UserRegisteredV1.type })).toBe(2);
    expect(consumed.value('eda_consumer_messages_dead_lettered_total', { type: UserRegisteredV1.type })).toBe(1);
    expect(consumed.value('eda_consumer_messages_dead_lettered_total', { type: 'unknown' })).toBe(1);
    expect(consumed.value('eda_consumer_dead_letter_queue_messages')).toBe(2);
    expect(requestsTo(consumed, 'GET', '/customers/:id/stats', 200)).toBe(1);
    expect(consumed.value('eda_db_pool_connections_max')).toBe(20);
    expect(consumed.value('eda_db_pool_requests_waiting')).toBe(0);
    expectProcessMetrics(consumed);
    // The API's metrics are the API's alone.
    expect(consumed.find('eda_commands_total')).toEqual([]);
  }, 90_000);

  it('shows a reader that falls behind as lag in events and seconds', async () => {
    // Holding the projection's lock keeps order_summaries from taking the new order's event.
    const customer = await registerUser(api);
    await eventually(async () => expect((await scrapeApi()).sum('eda_subscription_lag_events')).toBe(0), 15_000);
    const lock = new Client({ connectionString: api.databaseUrl });
    await lock.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE order_summaries IN EXCLUSIVE MODE');
      await order(customer, 10);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const scrape = await scrapeApi();
      const behind = scrape.find('eda_subscription_lag_events').filter((sample) => sample.value > 0);
      expect(behind.map((sample) => sample.labels.subscription)).toContain('projection:order-summaries');
      expect(scrape.value('eda_subscription_lag_seconds', behind.find((sample) => sample.labels.subscription === 'projection:order-summaries')!.labels)).toBeGreaterThanOrEqual(1);
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
    await eventually(async () => expect((await scrapeApi()).sum('eda_subscription_lag_events')).toBe(0), 15_000);
  }, 60_000);

  it('counts an event appended in a reaction chunk only when its chunk commits, and the parked step', async () => {
    const app = await startTestApp({
      extraModules: [ChangeEmailModule],
      startReaders: false,
      env: { REACTION_CHUNK_SIZE: '5', REACTION_MAX_ATTEMPTS: '2', REACTION_RETRY_BASE_MS: '20' },
    });
    try {
      const users: string[] = [];
      for (let i = 0; i < 12; i += 1) users.push(await registerUser(app));
      await app.app.get(EventSequencer).sequencePending();
      // The eighth in commit order fails inside the second chunk, after its email change was appended.
      const [{ userId }] = await app.db.query(`SELECT payload->>'userId' AS "userId" FROM events ORDER BY global_position OFFSET 7 LIMIT 1`);
      ChangeEmailOnRegistration.refusedUser = userId;
      await app.app.get(AfterListening).start();

      const reaction = 'reaction:test.metrics-chunked';
      const scrape = await eventually(async () => {
        const latest = PrometheusScrape.parse((await app.http().get('/metrics').expect(200)).text);
        expect(latest.value('eda_reactions_parked', { reaction })).toBe(1);
        expect(latest.value('eda_subscription_lag_events', { subscription: reaction, segment: '0' })).toBe(0);
        return latest;
      }, 15_000);
      const [{ changed, stored }] = await app.db.query(
        `SELECT count(*) FILTER (WHERE event_type = 'UserEmailChanged')::int AS changed, count(*)::int AS stored FROM events`,
      );
      expect(changed).toBe(11);
      expect(scrape.value('eda_events_appended_total', { type: 'UserEmailChanged' })).toBe(changed);
      expect(scrape.sum('eda_events_appended_total')).toBe(stored);
    } finally {
      await app.close();
    }
  }, 60_000);

  it('counts a relayed message the broker returned as unroutable, and the same one confirmed once routed', async () => {
    const app = await startTestApp({ env: { REACTIONS_ENABLED: 'false' } });
    try {
      expect(await app.app.get(IntegrationEventPublisher).connect()).toBe(true);
      // No queue bound: the publish is returned; the relay declares the topology again and re-sends.
      await withBrokerChannel((channel) => channel.deleteQueue(app.topology.consumerQueue));
      await registerUser(app);
      await eventually(async () => expect(await app.app.get(OutboxRelay).lag()).toBe(0), 20_000);

      const scrape = PrometheusScrape.parse((await app.http().get('/metrics').expect(200)).text);
      const type = { type: UserRegisteredV1.type };
      expect(scrape.value('eda_relay_messages_returned_total', type)).toBeGreaterThanOrEqual(1);
      expect(scrape.value('eda_relay_messages_confirmed_total', type)).toBe(1);
      expect(scrape.value('eda_relay_messages_published_total', type)).toBe(
        scrape.value('eda_relay_messages_confirmed_total', type) +
          scrape.value('eda_relay_messages_returned_total', type) +
          scrape.sum('eda_relay_messages_failed_total', type),
      );
    } finally {
      await app.close();
    }
  }, 60_000);
});
