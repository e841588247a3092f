import { randomUUID } from 'node:crypto';
import { CLOUD_EVENTS_CONTENT_TYPE, INTEGRATION_EVENT_CONTRACTS, OrderPlacedV1, openCloudEvent, UserRegisteredV1 } from '../contracts';
import { EventStoreManifests, type StoredEvent } from '../event-store';
import { EVENT_STORE_MANIFESTS } from '../modules/manifests';
import { IntegrationEventMappers } from './integration-event-mappers';
import { toAmqpMessage } from './integration-event-publisher';
import { toIntegrationEnvelope } from './integration-envelope';

const mappers = new IntegrationEventMappers(new EventStoreManifests(EVENT_STORE_MANIFESTS));

function stored(streamType: string, eventType: string, streamVersion: number, payload: Record<string, unknown>): StoredEvent {
  return {
    position: '1',
    globalPosition: '1',
    eventId: randomUUID(),
    streamType,
    streamId: randomUUID(),
    streamVersion,
    eventType,
    schemaVersion: 1,
    payload,
    metadata: { correlationId: 'corr', causationId: 'cause', occurredAt: '2026-01-02T03:04:05.000Z' },
    recordedAt: new Date(),
  };
}

const userRegistered = (version: number) =>
  stored('User', 'UserRegistered', version, { userId: randomUUID(), email: 'ada@example.com', name: 'Ada', registeredAt: '2026-01-02T03:04:05.000Z' });

const orderPlaced = (version: number) =>
  stored('Order', 'OrderPlaced', version, {
    orderId: randomUUID(),
    customerId: randomUUID(),
    lines: [{ sku: 'A', quantity: 1, unitPrice: 5 }],
    total: { amount: 5, currency: 'EUR' },
    placedAt: '2026-01-02T03:04:05.000Z',
  });

describe('a stored event as the relay publishes it', () => {
  it('has the source of its stream type, the event id as CloudEvent id, and the padded stream version as sequence', () => {
    const user = userRegistered(12);
    const envelope = toIntegrationEnvelope(user, mappers)!;
    expect(toAmqpMessage(envelope).routingKey).toBe(UserRegisteredV1.type);
    expect(envelope).toMatchObject({ id: user.eventId, source: '/eda/users', subject: user.streamId, sequence: '00000000000000000012' });

    const order = orderPlaced(3);
    expect(toIntegrationEnvelope(order, mappers)!).toMatchObject({
      id: order.eventId,
      type: OrderPlacedV1.type,
      source: '/eda/orders',
      sequence: '00000000000000000003',
    });
  });

  it('is a structured-mode message whose cloudEvents: headers repeat the attributes, and the consumer opens it', () => {
    const envelope = toIntegrationEnvelope(userRegistered(10), mappers)!;
    const message = toAmqpMessage(envelope);
    expect(message.properties).toMatchObject({ contentType: CLOUD_EVENTS_CONTENT_TYPE, messageId: envelope.id, type: envelope.type });
    expect(message.properties.headers).toEqual({
      'cloudEvents:id': envelope.id,
      'cloudEvents:source': '/eda/users',
      'cloudEvents:type': UserRegisteredV1.type,
      'cloudEvents:specversion': '1.0',
      'cloudEvents:time': '2026-01-02T03:04:05.000Z',
      'cloudEvents:subject': envelope.subject,
      'cloudEvents:correlationid': 'corr',
      'cloudEvents:causationid': 'cause',
      'cloudEvents:sequence': '00000000000000000010',
    });
    const body: unknown = JSON.parse(message.content.toString());
    expect(openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS, message.properties.headers as Record<string, unknown>).sequence).toBe(10);
  });

  it('is not published when its stream type has no publication', () => {
    expect(toIntegrationEnvelope(stored('Invoice', 'InvoiceSent', 1, {}), mappers)).toBeUndefined();
  });
});
