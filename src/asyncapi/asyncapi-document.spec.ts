import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { contractPayloadSchema, INTEGRATION_EVENT_CONTRACTS, OrderPlacedV1, wrapInCloudEvent } from '../contracts';
import { buildAsyncApiDocument, eventSource, eventTypeParts, messageName } from './asyncapi-document';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const sources = {
  contracts: INTEGRATION_EVENT_CONTRACTS,
  exchange: 'eda.integration',
  brokerUrl: 'amqp://publisher:s3cret@rabbit.internal:5673/orders%2Fprod',
  version: '1',
};
const document: Json = buildAsyncApiDocument(sources);
const types = [...INTEGRATION_EVENT_CONTRACTS.keys()];

function validator(pointer: string) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'asyncapi');
  return ajv.getSchema(`asyncapi#${pointer}`)!;
}

/** An OrderPlaced CloudEvent in the form the document describes (source per module, 20-digit sequence). */
function orderPlacedEvent(overrides: Json = {}): Json {
  const data = {
    orderId: '7d1c3f4e-5a6b-4c8d-9e0f-112233445566',
    customerId: '0a1b2c3d-4e5f-4a6b-8c7d-8e9f00112233',
    currency: 'EUR',
    total: 2500,
    lines: [{ sku: 'BOOK-1', quantity: 2, unitPrice: 1250 }],
    placedAt: '2026-11-30T12:00:00.000Z',
  };
  const event = wrapInCloudEvent(OrderPlacedV1, data, {
    id: '01a22fdf-9a60-72af-941c-4108f9361cfd',
    source: '/eda/orders',
    subject: data.orderId,
    time: data.placedAt,
    correlationId: 'c-1',
    causationId: 'c-1',
    sequence: 10,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  // The target form of issue 12 whatever this release's wrapInCloudEvent writes.
  return { ...event, sequence: '00000000000000000010', ...overrides };
}

describe('the AsyncAPI document of the integration events', () => {
  it('is AsyncAPI 3.0.0 with one amqp server, its host and vhost from the URL and never its credentials', () => {
    expect(document.asyncapi).toBe('3.0.0');
    expect(document.defaultContentType).toBe('application/cloudevents+json');
    expect(document.servers).toEqual({ rabbitmq: expect.objectContaining({ host: 'rabbit.internal:5673', protocol: 'amqp', protocolVersion: '0.9.1' }) });
    const text = JSON.stringify(document);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('publisher:');
  });

  it('has one channel per routing key, its address the CloudEvents type, bound to the topic exchange', () => {
    expect(Object.keys(document.channels)).toEqual(types.map(messageName));
    for (const type of types) {
      const channel = document.channels[messageName(type)];
      expect(channel.address).toBe(type);
      expect(channel.bindings.amqp).toEqual({
        is: 'routingKey',
        exchange: { name: 'eda.integration', type: 'topic', durable: true, autoDelete: false, vhost: 'orders/prod' },
        bindingVersion: '0.3.0',
      });
      expect(channel.messages).toEqual({ [messageName(type)]: { $ref: `#/components/messages/${messageName(type)}` } });
    }
  });

  it('has one send operation per channel: the API publishes, persistent and mandatory', () => {
    for (const type of types) {
      const name = messageName(type);
      expect(document.operations[name]).toMatchObject({
        action: 'send',
        channel: { $ref: `#/channels/${name}` },
        messages: [{ $ref: `#/channels/${name}/messages/${name}` }],
        bindings: { amqp: { deliveryMode: 2, mandatory: true } },
      });
    }
  });

  it('names each message by event and version, its data the schema derived from the contract class', () => {
    expect(types.map(messageName)).toContain('order-placed.v1');
    for (const [type, contract] of INTEGRATION_EVENT_CONTRACTS) {
      const message = document.components.messages[messageName(type)];
      expect(message).toMatchObject({ name: messageName(type), contentType: 'application/cloudevents+json', bindings: { amqp: { messageType: type } } });
      expect(message.payload.properties.type.const).toBe(type);
      expect(message.payload.properties.data).toEqual({ $ref: `#/components/schemas/${contract.name}` });
      expect(document.components.schemas[contract.name]).toEqual(contractPayloadSchema(contract));
    }
  });

  it('describes the whole CloudEvent of structured mode: a real envelope validates, and each attribute is checked', () => {
    const payload = validator('/components/messages/order-placed.v1/payload');
    expect(payload(orderPlacedEvent())).toBe(true);
    const refused: Array<[string, Json]> = [
      ['an unpadded sequence', { sequence: '10' }],
      ['the source of another module', { source: '/eda/users' }],
      ['another type', { type: 'com.example.orders.order-shipped.v1' }],
      ['no correlationid', { correlationid: undefined }],
      ['a malformed traceparent', { traceparent: 'trace-1' }],
      ['data breaking its contract', { data: { ...orderPlacedEvent().data, lines: [{ sku: 'BOOK-1', quantity: 0, unitPrice: 1 }] } }],
    ];
    for (const [what, change] of refused) expect([what, payload(JSON.parse(JSON.stringify(orderPlacedEvent(change))))]).toEqual([what, false]);
  });

  it('carries the CloudEvents AMQP binding headers (cloudEvents:<attribute>) in a trait every message applies', () => {
    const trait = document.components.messageTraits.cloudEvent;
    expect(Object.keys(trait.headers.properties)).toEqual(
      [
        ...['specversion', 'id', 'source', 'type', 'time', 'subject', 'correlationid', 'causationid', 'sequence', 'traceparent', 'tracestate'].map((name) => `cloudEvents:${name}`),
        // The publish span's W3C context, written by the amqplib instrumentation when tracing is on.
        'traceparent',
        'tracestate',
      ],
    );
    expect(trait.headers.required).not.toContain('traceparent');
    expect(trait.headers.required).not.toContain('cloudEvents:traceparent');
    expect(trait.correlationId.location).toBe('$message.payload#/correlationid');
    for (const type of types) expect(document.components.messages[messageName(type)].traits).toEqual([{ $ref: '#/components/messageTraits/cloudEvent' }]);
    const headers = validator('/components/messageTraits/cloudEvent/headers');
    const event = orderPlacedEvent();
    const asHeaders = Object.fromEntries(Object.entries(event).filter(([name]) => name !== 'data' && name !== 'datacontenttype').map(([name, value]) => [`cloudEvents:${name}`, value]));
    expect(headers(asHeaders)).toBe(true);
    expect(headers({ ...asHeaders, 'cloudEvents:sequence': '10' })).toBe(false);
  });

  it('is the same for the same input (pure)', () => {
    expect(JSON.stringify(buildAsyncApiDocument(sources))).toBe(JSON.stringify(document));
  });
});

describe('contract types', () => {
  it('read as <namespace>.<module>.<event>.v<N>, giving the message name and the source', () => {
    expect(eventTypeParts('com.example.orders.order-placed.v1')).toEqual({ module: 'orders', event: 'order-placed', version: 1 });
    expect(messageName('com.example.users.credit-rejected.v12')).toBe('credit-rejected.v12');
    expect(eventSource('com.example.users.credit-rejected.v1')).toBe('/eda/users');
  });

  it.each(['order-placed', 'com.example.orders.order-placed', 'com.example.orders.order-placed.v0', 'com.example.orders.OrderPlaced.v1'])('refuses %p', (type) => {
    expect(() => eventTypeParts(type)).toThrow(/is not <namespace>\.<module>\.<event>\.v<N>/);
  });

  it('every registered contract has such a type', () => {
    for (const type of types) expect(() => eventTypeParts(type)).not.toThrow();
  });
});
