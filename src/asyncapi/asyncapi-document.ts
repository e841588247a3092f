import { CLOUD_EVENTS_CONTENT_TYPE, contractPayloadSchema, type IntegrationEventContract, type JsonSchema, SEQUENCE_DIGITS } from '../contracts';

/** What the document describes: the published contracts and where they are published. */
export interface AsyncApiSources {
  contracts: ReadonlyMap<string, IntegrationEventContract>;
  /** The topic exchange every integration event is published to (BrokerTopology.exchange). */
  exchange: string;
  /** RABBITMQ_URL: only scheme, host, port and vhost are used; user and password never appear. */
  brokerUrl: string;
  /** The document's `info.version`. */
  version: string;
}

/** An AsyncAPI 3.0.0 document as plain JSON. */
export type AsyncApiDocument = JsonSchema;

/** `com.example.orders.order-placed.v1` → module `orders`, event `order-placed`, version 1. */
export interface EventTypeParts {
  module: string;
  event: string;
  version: number;
}

const EVENT_TYPE = /^[a-z0-9]+(?:\.[a-z0-9]+)*\.([a-z][a-z0-9]*)\.([a-z][a-z0-9-]*)\.v([1-9][0-9]*)$/;

/** Reads a contract type `<namespace>.<module>.<event>.v<N>`; throws for any other shape. */
export function eventTypeParts(type: string): EventTypeParts {
  const match = EVENT_TYPE.exec(type);
  if (!match) throw new Error(`contract type "${type}" is not <namespace>.<module>.<event>.v<N>`);
  return { module: match[1], event: match[2], version: Number(match[3]) };
}

/** The message name: the event and its version, `order-placed.v1`. */
export function messageName(type: string): string {
  const { event, version } = eventTypeParts(type);
  return `${event}.v${version}`;
}

/** The CloudEvents `source` of a contract's events: its module's, `/eda/orders` (with `subject`, what `sequence` is scoped by). */
export function eventSource(type: string): string {
  return `/eda/${eventTypeParts(type).module}`;
}

const SERVER = 'rabbitmq';
const CLOUD_EVENT_TRAIT = 'cloudEvent';
const AMQP_BINDING_VERSION = '0.3.0';
const TRACEPARENT = '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$';

/**
 * The AsyncAPI 3.0.0 document of the integration events, built from the contract registry and
 * the broker topology: one server (the RabbitMQ of `brokerUrl`), one channel per routing key on
 * the topic exchange (address = the CloudEvents `type`; an AMQP channel binding names the
 * exchange), one message per contract version named `<event>.v<N>` whose payload is the whole
 * CloudEvent of structured mode (`application/cloudevents+json`) with the contract's JSON Schema
 * as `data`, the `cloudEvents:`-prefixed AMQP headers in a shared message trait, and one `send`
 * operation per channel: the API publishes, consumers bind their own queues. Pure: the same
 * input gives the same document. Throws when a contract type is not `<namespace>.<module>.<event>.v<N>`.
 */
export function buildAsyncApiDocument(sources: AsyncApiSources): AsyncApiDocument {
  const broker = brokerAddress(sources.brokerUrl);
  const contracts = [...sources.contracts].map(([type, contract]) => ({ type, contract, name: messageName(type), ...eventTypeParts(type) }));
  const modules = [...new Set(contracts.map(({ module }) => module))];
  const exchangeBinding = {
    amqp: {
      is: 'routingKey',
      exchange: { name: sources.exchange, type: 'topic', durable: true, autoDelete: false, vhost: broker.vhost },
      bindingVersion: AMQP_BINDING_VERSION,
    },
  };
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Event-driven NestJS monolith: integration events',
      version: sources.version,
      description: describeApi(sources.exchange),
      tags: modules.map((module) => ({ name: module, description: `Integration events of the ${module} module (source \`/eda/${module}\`)` })),
    },
    defaultContentType: CLOUD_EVENTS_CONTENT_TYPE,
    servers: {
      [SERVER]: {
        host: broker.host,
        protocol: broker.protocol,
        protocolVersion: '0.9.1',
        description: `The RabbitMQ the API publishes to (vhost \`${broker.vhost}\`, exchange \`${sources.exchange}\`).`,
        security: [{ $ref: '#/components/securitySchemes/brokerUser' }],
      },
    },
    channels: Object.fromEntries(
      contracts.map(({ type, name, module }) => [
        name,
        {
          address: type,
          title: name,
          description: `Routing key \`${type}\` on the topic exchange \`${sources.exchange}\`. Bind a queue with this key, or with \`#\` wildcards (\`${type.split('.').slice(0, -2).join('.')}.#\` for every ${module} event).`,
          servers: [{ $ref: `#/servers/${SERVER}` }],
          messages: { [name]: { $ref: `#/components/messages/${name}` } },
          bindings: exchangeBinding,
        },
      ]),
    ),
    operations: Object.fromEntries(
      contracts.map(({ name, module }) => [
        name,
        {
          action: 'send',
          title: `Publish ${name}`,
          summary: `The API publishes every ${name} event once it is committed (outbox relay): at least once, in stream order per subject.`,
          channel: { $ref: `#/channels/${name}` },
          messages: [{ $ref: `#/channels/${name}/messages/${name}` }],
          tags: [{ name: module }],
          bindings: { amqp: { deliveryMode: 2, mandatory: true, timestamp: true, bindingVersion: AMQP_BINDING_VERSION } },
        },
      ]),
    ),
    components: {
      schemas: Object.fromEntries(contracts.map(({ contract }) => [contract.name, contractPayloadSchema(contract)])),
      messages: Object.fromEntries(
        contracts.map(({ type, contract, name, module, event, version }) => [
          name,
          {
            name,
            title: `${sentence(event)} (v${version})`,
            summary: `CloudEvent ${type} from ${eventSource(type)}; data is ${contract.name}.`,
            contentType: CLOUD_EVENTS_CONTENT_TYPE,
            tags: [{ name: module }],
            traits: [{ $ref: `#/components/messageTraits/${CLOUD_EVENT_TRAIT}` }],
            payload: cloudEventSchema(type, `#/components/schemas/${contract.name}`),
            bindings: { amqp: { messageType: type, bindingVersion: AMQP_BINDING_VERSION } },
          },
        ]),
      ),
      messageTraits: { [CLOUD_EVENT_TRAIT]: cloudEventTrait() },
      securitySchemes: {
        brokerUser: { type: 'userPassword', description: 'A RabbitMQ user and password, given by the operators of this broker.' },
      },
    },
  };
}

function describeApi(exchange: string): string {
  return [
    'The integration events the API publishes to RabbitMQ: the other half of its public interface, next to the HTTP API at `/docs`.',
    '',
    `Every event is a [CloudEvent 1.0](https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md) in **structured mode**: the AMQP message body is the whole event as JSON (\`${CLOUD_EVENTS_CONTENT_TYPE}\`), its contract's fields under \`data\`. It goes to the topic exchange \`${exchange}\` with the event \`type\` as routing key, persistent and mandatory; its attributes travel again as AMQP headers named \`cloudEvents:<attribute>\` (the CloudEvents AMQP binding), to route or filter without parsing the body.`,
    '',
    '- **At least once**: the same event may arrive again (a retry, `npm run republish-events`) with the same `id`; deduplicate on it.',
    '- **Order**: events of one aggregate (`source` + `subject`) are published in stream order; `sequence` is that order, a decimal string zero-padded to 20 digits, so it sorts as a string.',
    '- **Versions**: the type and the message name end in the contract version (`order-placed.v1`). A published version is frozen: an incompatible change is published as a new version next to it, and the one compatible change is a new optional field, so ignore fields you do not know.',
  ].join('\n');
}

/** The CloudEvent of structured mode: the attributes, this type and source, and `data` by reference. */
function cloudEventSchema(type: string, dataSchema: string): JsonSchema {
  return {
    type: 'object',
    required: ['specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype', 'data', 'correlationid', 'causationid', 'sequence'],
    properties: {
      ...attributeSchemas(type),
      datacontenttype: { type: 'string', const: 'application/json', description: 'The media type of `data`.' },
      data: { $ref: dataSchema },
    },
  };
}

/** Every CloudEvents attribute but `datacontenttype` and `data`, by name: the body's and (prefixed) the headers'. */
function attributeSchemas(type?: string): Record<string, JsonSchema> {
  return {
    specversion: { type: 'string', const: '1.0', description: 'CloudEvents version.' },
    id: {
      type: 'string',
      format: 'uuid',
      description: 'The id of the stored event: the same on every publication of the event, so a consumer deduplicates on it.',
    },
    source: {
      type: 'string',
      format: 'uri-reference',
      ...(type ? { const: eventSource(type) } : { examples: ['/eda/orders', '/eda/users'] }),
      description: 'The module that publishes the event (one per aggregate type); with `subject`, what `sequence` is scoped by.',
    },
    type: { type: 'string', ...(type ? { const: type } : {}), description: 'The contract and its version; also the routing key.' },
    time: { type: 'string', format: 'date-time', description: 'When the event occurred (RFC 3339).' },
    subject: { type: 'string', format: 'uuid', description: 'The aggregate the event belongs to (the id of the user or order).' },
    correlationid: {
      type: 'string',
      minLength: 1,
      description: 'Extension: the id of the request that started the flow (the `X-Correlation-Id` of the HTTP request), the same on every event it caused.',
    },
    causationid: { type: 'string', minLength: 1, description: 'Extension: the id of the command or event that caused this event.' },
    sequence: {
      type: 'string',
      pattern: `^[0-9]{${SEQUENCE_DIGITS}}$`,
      examples: ['00000000000000000010'],
      description: `Extension (CloudEvents sequence): the stream version of the event within its aggregate, a decimal string zero-padded to ${SEQUENCE_DIGITS} digits, so that string order is stream order.`,
    },
    traceparent: {
      type: 'string',
      pattern: TRACEPARENT,
      description: 'Extension (CloudEvents distributed tracing): the W3C trace context the event was written in; absent when it was written untraced.',
    },
    tracestate: { type: 'string', description: 'Extension (CloudEvents distributed tracing): the W3C `tracestate`, when there is one.' },
  };
}

/**
 * The W3C trace context of the relay's publish: with tracing on (OTEL_*), OpenTelemetry's amqplib
 * instrumentation writes it as bare AMQP headers on every message, as the OpenTelemetry messaging
 * conventions propagate context. Not the event's own trace context (`cloudEvents:traceparent`).
 */
function publishTraceContextHeaders(): Record<string, JsonSchema> {
  return {
    traceparent: {
      type: 'string',
      pattern: TRACEPARENT,
      description:
        "W3C `traceparent` of the span of the relay's AMQP publish (OpenTelemetry), present when the API runs with tracing on. The event's own trace context is `cloudEvents:traceparent`.",
    },
    tracestate: { type: 'string', description: 'W3C `tracestate` of that publish span, when there is one.' },
  };
}

/** What every message shares: the CloudEvents AMQP binding's headers, and where its correlation id is. */
function cloudEventTrait(): JsonSchema {
  const attributes = attributeSchemas();
  const optional = new Set(['traceparent', 'tracestate']);
  return {
    contentType: CLOUD_EVENTS_CONTENT_TYPE,
    headers: {
      type: 'object',
      description:
        'AMQP application properties: each CloudEvents attribute of the body again, under `cloudEvents:<attribute>` (the CloudEvents AMQP protocol binding), as a string with the same value; with tracing on, the W3C trace context of the publish too.',
      required: Object.keys(attributes)
        .filter((name) => !optional.has(name))
        .map(header),
      properties: { ...Object.fromEntries(Object.entries(attributes).map(([name, schema]) => [header(name), schema])), ...publishTraceContextHeaders() },
    },
    correlationId: {
      description: 'The id of the request that started the flow; every event it caused carries it.',
      location: '$message.payload#/correlationid',
    },
  };
}

function header(attribute: string): string {
  return `cloudEvents:${attribute}`;
}

/** `order-placed` → `Order placed`. */
function sentence(kebab: string): string {
  const words = kebab.split('-').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Host, port, protocol and vhost of an AMQP URL; user and password are dropped. */
function brokerAddress(url: string): { host: string; protocol: 'amqp' | 'amqps'; vhost: string } {
  const parsed = new URL(url);
  const protocol = parsed.protocol === 'amqps:' ? 'amqps' : 'amqp';
  const port = parsed.port || (protocol === 'amqps' ? '5671' : '5672');
  const vhost = decodeURIComponent(parsed.pathname.slice(1)) || '/';
  return { host: `${parsed.hostname}:${port}`, protocol, vhost };
}
