import { SpanKind } from '@opentelemetry/api';
import type { IntegrationEnvelope } from '../../contracts';
import { inSpan } from '../../tracing/spans';
import { contextOf } from '../../tracing/trace-context';

/**
 * One message's publish, until the broker confirmed it, in a PRODUCER span
 * (`publish com.example.orders.order-confirmed.v1`) that is a child of the span that wrote the
 * event: its CloudEvent's `traceparent`, the same context the consumer continues. A span per
 * message, not per batch, so each request's trace shows its own publish; an event stored without
 * trace context gets a new trace. Attribute names from the OpenTelemetry messaging and
 * CloudEvents semantic conventions.
 */
export function inPublishSpan(envelope: IntegrationEnvelope, exchange: string, publish: () => Promise<void>): Promise<void> {
  return inSpan(
    `publish ${envelope.type}`,
    {
      kind: SpanKind.PRODUCER,
      parent: contextOf(envelope),
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.destination.name': exchange,
        'messaging.rabbitmq.destination.routing_key': envelope.type,
        'messaging.message.id': envelope.id,
        'cloudevents.event_type': envelope.type,
        'cloudevents.event_subject': envelope.subject,
      },
    },
    publish,
  );
}
