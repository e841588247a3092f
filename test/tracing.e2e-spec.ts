import { randomUUID } from 'node:crypto';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import amqp from 'amqplib';
import { Client } from 'pg';
import { fastifyInstrumentation } from '../src/tracing/instrumentations';
import { registerUser, uniqueEmail } from './support/fixtures';
import { eventually, startTestApp, startTestConsumerApp, type TestApp, type TestConsumerApp } from './support/test-app';
import { TEST_RABBITMQ_URL } from './support/test-broker';

/**
 * One trace from an HTTP request to the consumer app, both apps in this process. What runs here
 * is what jest can load: the API's global tracer provider with an in-memory exporter, the
 * AsyncLocalStorage context manager, the W3C propagator, and `@fastify/otel` (it hooks Fastify
 * through a diagnostics channel). The application's own spans are all real: the command's, the
 * saga steps', the relay's publishes, the consumer's handling, and the trace context stored in
 * event metadata and carried in the CloudEvent. What only the `--import` preload adds (the `http`,
 * `pg` and `amqplib` instrumentations patch modules as Node loads them, which jest's module
 * registry bypasses) is shown on built processes in tracing-preload.e2e-spec.ts.
 */

const ORDER_FULFILMENT = 'reaction:order-fulfilment';
const ORDER_CREDIT = 'reaction:order-credit';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
// Before any app exists: it hooks every Fastify instance created from now on (as the preload does).
const fastifyOtel = fastifyInstrumentation();

let api: TestApp;
let consumer: TestConsumerApp | undefined;
let consumerDb: Client;
let tap: { connection: amqp.ChannelModel; channel: amqp.Channel; queue: string };

beforeAll(async () => {
  api = await startTestApp();
  consumer = await startTestConsumerApp(api.brokerPrefix);
  consumerDb = consumer.db;
  // A queue of the test's own on the exchange: every message the relay publishes, as sent.
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  const channel = await connection.createChannel();
  const queue = `${api.brokerPrefix}.trace-tap`;
  await channel.assertQueue(queue, { durable: false });
  await channel.bindQueue(queue, api.topology.exchange, '#');
  tap = { connection, channel, queue };
}, 60_000);

afterAll(async () => {
  await tap?.channel.deleteQueue(tap.queue).catch(() => undefined);
  await tap?.connection.close();
  await consumer?.close();
  await api?.close();
  fastifyOtel.disable();
});

/** The CloudEvents the relay published for `subject` so far, as they were on the wire. */
const published: Array<Record<string, unknown>> = [];
async function publishedFor(subject: string): Promise<Array<Record<string, unknown>>> {
  for (let message = await tap.channel.get(tap.queue, { noAck: true }); message; message = await tap.channel.get(tap.queue, { noAck: true })) {
    published.push(JSON.parse(message.content.toString()));
  }
  return published.filter((event) => event.subject === subject);
}

async function placeOrder(customerId: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await api
    .http()
    .post('/orders')
    .set(headers)
    .send({ customerId, currency: 'EUR', lines: [{ sku: 'TRACE-1', quantity: 2, unitPrice: 300 }] })
    .expect(202);
  return response.body.id;
}

async function storedEvent(streamId: string, type: string): Promise<{ eventId: string; metadata: Record<string, string> }> {
  const { events } = (await api.http().get(`/streams/${streamId}/events`).expect(200)).body;
  const event = events.find((candidate: { type: string }) => candidate.type === type);
  if (!event) throw new Error(`no ${type} in stream ${streamId}`);
  return event;
}

async function consumerApplied(eventId: string): Promise<void> {
  await eventually(async () => {
    const { rows } = await consumerDb.query(`SELECT 1 FROM inbox WHERE event_id = $1`, [eventId]);
    expect(rows).toHaveLength(1);
  }, 20_000);
}

const spans = () => exporter.getFinishedSpans();
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const traceOf = (span: ReadableSpan) => span.spanContext().traceId;
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

/** The one finished, successful span named `name` whose attribute `key` is `value` (throws until there is one). */
function only(name: string, key: string, value: string): ReadableSpan {
  const found = spans().filter((span) => span.name === name && span.attributes[key] === value && span.status.code !== SpanStatusCode.ERROR);
  if (found.length !== 1) throw new Error(`${found.length} spans ${name} with ${key}=${value}; finished: ${spans().map((span) => span.name).join(', ')}`);
  return found[0];
}

/** The names of `span`'s ancestors, nearest first, as far as they were exported. */
function ancestry(span: ReadableSpan): string[] {
  const byId = new Map(spans().map((candidate) => [idOf(candidate), candidate]));
  const names: string[] = [];
  for (let parent = byId.get(parentOf(span) ?? ''); parent; parent = byId.get(parentOf(parent) ?? '')) names.push(parent.name);
  return names;
}

const traceparentOf = (span: ReadableSpan) => `00-${traceOf(span)}-${idOf(span)}-01`;

describe('with tracing off (no tracer provider: the default)', () => {
  it('stores no trace context and publishes none: the events and messages are as before', async () => {
    const customer = await registerUser(api, { creditLimit: 10_000 });
    const orderId = await placeOrder(customer);
    const confirmed = await eventually(() => storedEvent(orderId, 'OrderConfirmed'), 20_000);
    await consumerApplied(confirmed.eventId);

    const placed = await storedEvent(orderId, 'OrderPlaced');
    for (const { metadata } of [placed, confirmed]) {
      // What flows record (request, command) stays; no trace context is stored.
      expect(Object.keys(metadata)).toEqual(expect.arrayContaining(['causationId', 'correlationId', 'occurredAt']));
      expect(metadata).not.toHaveProperty('traceparent');
      expect(metadata).not.toHaveProperty('tracestate');
    }
    const messages = await eventually(async () => {
      const sent = await publishedFor(orderId);
      expect(sent.map((event) => event.type).sort()).toEqual(['com.example.orders.order-confirmed.v1', 'com.example.orders.order-placed.v1']);
      return sent;
    });
    for (const message of messages) expect(Object.keys(message)).not.toEqual(expect.arrayContaining(['traceparent']));
  }, 30_000);
});

describe('with tracing on', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    fastifyOtel.setTracerProvider(provider);
  });

  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(() => exporter.reset());

  it("puts one POST /orders in one trace: the command, the saga's steps, the relay's publishes and the consumer's handling", async () => {
    const customer = await registerUser(api, { creditLimit: 10_000 });
    exporter.reset();
    const orderId = await placeOrder(customer);

    // The consumer has handled the order's confirmation (its span ends once the delivery is acked).
    const consumed = await eventually(async () => only('process com.example.orders.order-confirmed.v1', 'cloudevents.event_subject', orderId), 20_000);
    const request = await eventually(async () => only('request', 'http.route', '/orders'));
    const traceId = traceOf(request);

    expect(traceOf(consumed)).toBe(traceId);
    expect(consumed.kind).toBe(SpanKind.CONSUMER);
    // The CloudEvent's traceparent names the span that wrote OrderConfirmed, and so on back to the
    // request (whose span may still be ending).
    await eventually(async () =>
      expect(ancestry(consumed)).toEqual([
      'ConfirmOrderCommand',
      `${ORDER_FULFILMENT} confirmOrderWhenCreditReserved`,
      'ReserveCreditCommand',
      `${ORDER_CREDIT} reserveCreditForPlacedOrder`,
      'PlaceOrderCommand',
        'handler - OrdersController.place',
        'request',
      ]),
    );

    const placeOrderCommand = only('PlaceOrderCommand', 'eda.command', 'PlaceOrderCommand');
    const confirmOrderCommand = only('ConfirmOrderCommand', 'eda.command', 'ConfirmOrderCommand');
    const reserveCreditCommand = only('ReserveCreditCommand', 'eda.command', 'ReserveCreditCommand');
    const placed = await storedEvent(orderId, 'OrderPlaced');
    const confirmed = await storedEvent(orderId, 'OrderConfirmed');
    const reserveStep = only(`${ORDER_CREDIT} reserveCreditForPlacedOrder`, 'eda.event.id', placed.eventId);
    const orderPlacedHandled = await eventually(async () => only('process com.example.orders.order-placed.v1', 'cloudevents.event_subject', orderId));
    const publishes = await eventually(async () => ({
      placed: only('publish com.example.orders.order-placed.v1', 'messaging.message.id', placed.eventId),
      confirmed: only('publish com.example.orders.order-confirmed.v1', 'messaging.message.id', confirmed.eventId),
    }));

    // Every span of the request's work, in the API and in the consumer, carries its trace id.
    for (const span of [placeOrderCommand, reserveStep, reserveCreditCommand, confirmOrderCommand, publishes.placed, publishes.confirmed, orderPlacedHandled]) {
      expect({ span: span.name, traceId: traceOf(span) }).toEqual({ span: span.name, traceId });
    }
    // Each saga step and each publish is a child of the command that wrote its event.
    expect(parentOf(reserveStep)).toBe(idOf(placeOrderCommand));
    // The order's deadline is written by the placing command itself: no step of the Orders saga reads OrderPlaced.
    expect(spans().filter((span) => span.name.startsWith(`${ORDER_FULFILMENT} `) && span.attributes['eda.event.id'] === placed.eventId).map((span) => span.name)).toEqual([]);
    expect(parentOf(publishes.placed)).toBe(idOf(placeOrderCommand));
    expect(parentOf(orderPlacedHandled)).toBe(idOf(placeOrderCommand));
    expect(parentOf(publishes.confirmed)).toBe(idOf(confirmOrderCommand));
    expect(parentOf(consumed)).toBe(idOf(confirmOrderCommand));
    expect(publishes.confirmed.kind).toBe(SpanKind.PRODUCER);

    // The context travels in the stored metadata and in the CloudEvent's traceparent extension.
    expect(placed.metadata.traceparent).toBe(traceparentOf(placeOrderCommand));
    expect(confirmed.metadata.traceparent).toBe(traceparentOf(confirmOrderCommand));
    const sent = await eventually(async () => {
      const events = await publishedFor(orderId);
      expect(events).toHaveLength(2);
      return events;
    });
    expect(sent.find((event) => event.id === confirmed.eventId)).toMatchObject({ traceparent: confirmed.metadata.traceparent });
    expect(sent.find((event) => event.id === placed.eventId)).toMatchObject({ traceparent: placed.metadata.traceparent });
  }, 30_000);

  it("continues a caller's trace: the request's traceparent header reaches the consumer", async () => {
    const callerTraceId = randomUUID().replaceAll('-', '');
    const callerSpanId = randomUUID().replaceAll('-', '').slice(0, 16);
    const email = uniqueEmail('traced');
    const response = await api
      .http()
      .post('/users')
      .set('traceparent', `00-${callerTraceId}-${callerSpanId}-01`)
      .send({ email, name: 'Traced' })
      .expect(201);
    const userId: string = response.body.id;

    const consumed = await eventually(async () => only('process com.example.users.user-registered.v1', 'cloudevents.event_subject', userId), 20_000);
    const request = await eventually(async () => only('request', 'http.route', '/users'));
    expect(traceOf(request)).toBe(callerTraceId);
    expect(parentOf(request)).toBe(callerSpanId);
    expect(traceOf(consumed)).toBe(callerTraceId);
    await eventually(async () => expect(ancestry(consumed)).toEqual(['RegisterUserCommand', 'handler - UsersController.register', 'request']));
    expect((await storedEvent(userId, 'UserRegistered')).metadata.traceparent).toMatch(new RegExp(`^00-${callerTraceId}-[0-9a-f]{16}-01$`));
  }, 30_000);

  it('starts a new trace for events stored without trace context (before tracing), in the saga, the relay and the consumer', async () => {
    const customer = await registerUser(api, { creditLimit: 10_000 });
    const orderId = randomUUID();
    const eventId = randomUUID();
    const placedAt = new Date().toISOString();
    await api.db.transaction(async (db) => {
      await db.query(
        `INSERT INTO orders (id, customer_id, status, currency, lines, total, version, created_at, updated_at)
         VALUES ($1, $2, 'PENDING', 'EUR', '[{"sku":"OLD","quantity":1,"unitPrice":70}]', 70, 1, $3, $3)`,
        [orderId, customer, placedAt],
      );
      await db.query(
        `INSERT INTO events (event_id, stream_type, stream_id, stream_version, event_type, schema_version, payload, metadata)
         VALUES ($1, 'Order', $2, 1, 'OrderPlaced', 2, $3, $4)`,
        [
          eventId,
          orderId,
          JSON.stringify({ orderId, customerId: customer, lines: [{ sku: 'OLD', quantity: 1, unitPrice: 70 }], total: { amount: 70, currency: 'EUR' }, placedAt }),
          JSON.stringify({ correlationId: 'before-tracing', causationId: 'before-tracing', occurredAt: placedAt }),
        ],
      );
    });

    const consumed = await eventually(async () => only('process com.example.orders.order-confirmed.v1', 'cloudevents.event_subject', orderId), 20_000);
    const reserveStep = only(`${ORDER_CREDIT} reserveCreditForPlacedOrder`, 'eda.event.id', eventId);
    const publish = await eventually(async () => only('publish com.example.orders.order-placed.v1', 'messaging.message.id', eventId));
    const handled = await eventually(async () => only('process com.example.orders.order-placed.v1', 'cloudevents.event_subject', orderId));

    // Each reader of the untraced event starts a trace of its own...
    for (const root of [reserveStep, publish, handled]) expect({ span: root.name, parent: parentOf(root) }).toEqual({ span: root.name, parent: undefined });
    expect(new Set([reserveStep, publish, handled].map(traceOf)).size).toBe(3);
    // ... and what follows from it is traced from there on.
    expect(traceOf(consumed)).toBe(traceOf(reserveStep));
    expect(ancestry(consumed)).toEqual([
      'ConfirmOrderCommand',
      `${ORDER_FULFILMENT} confirmOrderWhenCreditReserved`,
      'ReserveCreditCommand',
      `${ORDER_CREDIT} reserveCreditForPlacedOrder`,
    ]);
    expect(await storedEvent(orderId, 'OrderConfirmed')).toMatchObject({ metadata: { correlationId: 'before-tracing' } });
  }, 30_000);
});
