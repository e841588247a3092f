import { SpanKind } from '@opentelemetry/api';
import type { ConsumeMessage } from 'amqplib';
import { inSpan } from '../../tracing/spans';
import { contextOf, type TraceContext } from '../../tracing/trace-context';

/**
 * One delivery's handling, until it is settled (acked, sent to a retry queue, parked), in a
 * CONSUMER span (`process com.example.orders.order-confirmed.v1`) that continues the trace the
 * CloudEvent names in its `traceparent` (the distributed-tracing extension): the span of the
 * command that wrote the event. A message without one (published before tracing, or by hand)
 * starts a new trace; one that is no CloudEvent at all still gets its span, so a parked message
 * shows up too. Attribute names from the OpenTelemetry messaging and CloudEvents conventions.
 */
export function inDeliverySpan(body: unknown, message: ConsumeMessage, handle: () => Promise<void>): Promise<void> {
  const attributes = isObject(body) ? body : {};
  const type = typeof attributes.type === 'string' ? attributes.type.slice(0, 200) : (message.properties.type as string | undefined);
  return inSpan(
    type ? `process ${type}` : 'process',
    {
      kind: SpanKind.CONSUMER,
      parent: contextOf(attributes as Partial<TraceContext>),
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': message.fields.exchange,
        'messaging.rabbitmq.destination.routing_key': message.fields.routingKey,
        ...(typeof message.properties.messageId === 'string' && { 'messaging.message.id': message.properties.messageId }),
        ...(type && { 'cloudevents.event_type': type }),
        ...(typeof attributes.subject === 'string' && { 'cloudevents.event_subject': attributes.subject.slice(0, 200) }),
      },
    },
    handle,
  );
}

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body);
}
