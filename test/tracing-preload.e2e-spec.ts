import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import amqp from 'amqplib';
import { ApiProcess } from './support/api-process';
import { type BuiltApiWithConsumer, startBuiltApiWithConsumer } from './support/api-with-consumer';
import { freePort } from './support/consumer-process';
import { eventually } from './support/test-app';
import { TEST_RABBITMQ_URL, testTopology } from './support/test-broker';

/**
 * The `--import` preload on the built API and consumer processes, as `npm run start:api` and
 * `start:consumer` run them, exporting by OTLP (http/json) to a collector this test plays: the
 * instrumentations jest cannot load (http, pg, amqplib) join the application's own spans in one
 * trace per request. Needs `npm run build`.
 */

const ROOT = path.resolve(__dirname, '..');

/** The preload each npm script passes to Node (what production runs). */
function preloadOf(script: 'start:api' | 'start:consumer'): string {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const preload = /--import (\S+)/.exec(scripts[script])?.[1];
  if (!preload) throw new Error(`npm run ${script} loads no preload: ${scripts[script]}`);
  return path.resolve(ROOT, preload);
}

interface ExportedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
}

/** What an OTLP/HTTP JSON exporter sends to `/v1/traces`: resource spans, by scope. */
interface OtlpJsonRequest {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: Array<{
      scope: { name: string };
      spans: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: OtlpAttribute[] }>;
    }>;
  }>;
}
type OtlpAttribute = { key: string; value: Record<string, unknown> };

const valuesOf = (attributes: OtlpAttribute[] = []) => Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]));

/** A stand-in collector: keeps every span exported to it. */
class Collector {
  readonly spans: ExportedSpan[] = [];
  private server?: Server;
  port = 0;

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        if (request.url === '/v1/traces') this.take(JSON.parse(body) as OtlpJsonRequest);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private take(request: OtlpJsonRequest): void {
    for (const { resource, scopeSpans } of request.resourceSpans) {
      const service = String(valuesOf(resource.attributes)['service.name']);
      for (const { scope, spans } of scopeSpans) {
        for (const span of spans) {
          this.spans.push({
            service,
            scope: scope.name,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            attributes: valuesOf(span.attributes),
          });
        }
      }
    }
  }

  ancestry(span: ExportedSpan): string[] {
    const names: string[] = [];
    for (let parent = this.byId(span.parentSpanId); parent; parent = this.byId(parent.parentSpanId)) names.push(parent.name);
    return names;
  }

  private byId(spanId: string | undefined): ExportedSpan | undefined {
    return spanId === undefined ? undefined : this.spans.find((span) => span.spanId === spanId);
  }
}

const collector = new Collector();
let apps: BuiltApiWithConsumer | undefined;
let brokerPrefix: string;
let databaseUrl: string;
let api: ApiProcess | undefined;

const otlp = () => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}`,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  // Exports every 50 ms instead of every 5 s, so the test need not wait.
  OTEL_BSP_SCHEDULE_DELAY: '50',
});

beforeAll(async () => {
  await collector.start();
  ({ api, apiDatabaseUrl: databaseUrl, brokerPrefix } = apps = await startBuiltApiWithConsumer({
    apiEnv: { NODE_OPTIONS: `--import ${preloadOf('start:api')}`, ...otlp() },
    consumerEnv: { NODE_OPTIONS: `--import ${preloadOf('start:consumer')}`, ...otlp() },
  }));
}, 60_000);

afterAll(async () => {
  await apps?.close();
  await collector.stop();
});

it('traces a request from the HTTP server through PostgreSQL and RabbitMQ into the consumer, in one trace', async () => {
  const { body: user } = await api!.post('/users', { email: `preload-${brokerPrefix}@example.com`, name: 'Preload' });
  const { status, body: order } = await api!.post('/orders', { customerId: user.id, currency: 'EUR', lines: [{ sku: 'P', quantity: 1, unitPrice: 100 }] });
  expect(status).toBe(202);

  const consumed = await eventually(async () => {
    const found = collector.spans.find((span) => span.name === 'process com.example.orders.order-confirmed.v1' && span.attributes['cloudevents.event_subject'] === order.id);
    expect(found).toBeDefined();
    return found!;
  }, 20_000);
  expect(consumed.service).toBe('eda-consumer');
  // Each process exports on its own schedule: the API's spans may arrive after the consumer's.
  await eventually(async () => {
    // The HTTP server span (instrumentation-http) is the trace's root.
    const server = collector.spans.find((span) => span.scope === '@opentelemetry/instrumentation-http' && span.traceId === consumed.traceId);
    expect(server).toMatchObject({ service: 'eda-api', name: 'POST /orders', parentSpanId: undefined });
    expect(collector.ancestry(consumed)).toEqual([
      'ConfirmOrderCommand',
      'reaction:order-fulfilment confirmOrderWhenCreditReserved',
      'ReserveCreditCommand',
      'reaction:order-credit reserveCreditForPlacedOrder',
      'PlaceOrderCommand',
      'handler - OrdersController.place',
      'request',
      'POST /orders',
    ]);
  });

  await eventually(async () => {
    const inTrace = collector.spans.filter((span) => span.traceId === consumed.traceId);
    const scopes = (service: string) => new Set(inTrace.filter((span) => span.service === service).map((span) => span.scope));
    // Each instrumentation adds its part: the request, the command's statements, the relay's AMQP
    // publish, and the consumer's AMQP delivery.
    expect([...scopes('eda-api')].sort()).toEqual(
      ['@fastify/otel', '@opentelemetry/instrumentation-amqplib', '@opentelemetry/instrumentation-http', '@opentelemetry/instrumentation-pg', 'nest-eda-monolith'].sort(),
    );
    expect([...scopes('eda-consumer')]).toEqual(expect.arrayContaining(['@opentelemetry/instrumentation-amqplib', 'nest-eda-monolith']));
    const statementsOfPlaceOrder = inTrace.filter((span) => span.scope === '@opentelemetry/instrumentation-pg' && collector.ancestry(span)[0] === 'PlaceOrderCommand');
    expect(statementsOfPlaceOrder.length).toBeGreaterThan(0);
  });
  // The consumer applies deliveries in batches: a batch's transaction is traced under the delivery
  // that opened it, which may belong to another request's trace.
  await eventually(async () => {
    const consumerStatements = collector.spans.filter((span) => span.service === 'eda-consumer' && span.scope === '@opentelemetry/instrumentation-pg');
    expect(consumerStatements.length).toBeGreaterThan(0);
    for (const statement of consumerStatements) expect(collector.ancestry(statement).some((name) => name.startsWith('process com.example.'))).toBe(true);
  });

  // Statements count only inside a trace: the readers' polling, the sequencer and the health probes make none.
  const statements = collector.spans.filter((span) => span.scope === '@opentelemetry/instrumentation-pg');
  expect(statements.filter((span) => span.parentSpanId === undefined)).toEqual([]);
  expect(collector.spans.filter((span) => JSON.stringify(span.attributes).includes('/health'))).toEqual([]);
}, 60_000);

it('publishes no AMQP header that the event catalogue (/asyncapi.json) does not declare, traced as in production', async () => {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, testTopology(brokerPrefix).exchange, '#');
    const { body: user } = await api!.post('/users', { email: `catalogue-${brokerPrefix}@example.com`, name: 'Catalogue' });
    const headers = await eventually(async () => {
      let found: Record<string, unknown> | undefined;
      for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
        if (JSON.parse(message.content.toString()).subject === user.id) found = message.properties.headers ?? {};
      }
      expect(found).toBeDefined();
      return found!;
    }, 20_000);
    const document = (await (await fetch(`${api!.url}/asyncapi.json`)).json()) as { components: { messageTraits: { cloudEvent: { headers: { properties: object; required: string[] } } } } };
    const trait = document.components.messageTraits.cloudEvent.headers;
    expect(Object.keys(headers).filter((name) => !(name in trait.properties))).toEqual([]);
    expect(Object.keys(headers)).toEqual(expect.arrayContaining(trait.required));
  } finally {
    await connection.close();
  }
}, 30_000);

it('refuses to start with an invalid OTEL_* variable, naming it', async () => {
  await expect(
    ApiProcess.start({ DATABASE_URL: databaseUrl, BROKER_PREFIX: brokerPrefix, NODE_OPTIONS: `--import ${preloadOf('start:api')}`, OTEL_TRACES_EXPORTER: 'jaeger' }),
  ).rejects.toThrow(/Invalid configuration: OTEL_TRACES_EXPORTER: comma-separated: otlp, console, zipkin or none/);
});

it('exports the spans still queued when the process stops, and exits 0', async () => {
  // Another API process whose batch processor would hold its spans for ten minutes.
  const stopping = await ApiProcess.start({
    DATABASE_URL: databaseUrl,
    BROKER_PREFIX: brokerPrefix,
    NODE_OPTIONS: `--import ${preloadOf('start:api')}`,
    ...otlp(),
    OTEL_BSP_SCHEDULE_DELAY: '600000',
  });
  const { status, body } = await stopping.post('/users', { email: `stopping-${brokerPrefix}@example.com`, name: 'Stopping' });
  expect(status).toBe(201);
  const registered = () =>
    collector.spans.filter((span) => span.service === 'eda-api' && span.name === 'RegisterUserCommand' && span.attributes['eda.command'] === 'RegisterUserCommand');
  const before = registered().length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(registered()).toHaveLength(before);

  expect(await stopping.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  expect(registered()).toHaveLength(before + 1);
  expect(body.id).toBeDefined();
}, 30_000);

it('starts both processes with their preloads in `npm start` too', () => {
  const start = readFileSync(path.join(ROOT, 'scripts/start.mjs'), 'utf8');
  for (const script of ['start:api', 'start:consumer'] as const) {
    expect(start).toContain(`'./${path.relative(ROOT, preloadOf(script))}'`);
  }
});
