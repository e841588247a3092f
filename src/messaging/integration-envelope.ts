import { type IntegrationEnvelope, wrapInCloudEvent } from '../contracts';
import type { StoredEvent } from '../event-store';
import type { IntegrationEventMappers } from './integration-event-mappers';

/**
 * The CloudEvent a stored event is published as, or undefined when its module maps it to no
 * contract. The CloudEvent id is the stored event's id, so every publication of the same event
 * (relay retries, `republish-events`) carries the same id and the consumer's inbox drops repeats.
 * `source` is the module's per stream type (`/eda/users`, `/eda/orders`), `subject` the stream
 * (aggregate) id and `sequence` its version zero-padded: source + subject + sequence order a
 * stream's events for any CloudEvents tool. Its `type` is also its routing key (toAmqpMessage).
 */
export function toIntegrationEnvelope(event: StoredEvent, mappers: IntegrationEventMappers): IntegrationEnvelope | undefined {
  const mapped = mappers.map(event);
  if (!mapped) return undefined;
  return wrapInCloudEvent(mapped, mapped.data, {
    id: event.eventId,
    source: mapped.source,
    subject: event.streamId,
    time: event.metadata.occurredAt,
    correlationId: event.metadata.correlationId,
    causationId: event.metadata.causationId,
    sequence: event.streamVersion,
    traceparent: event.metadata.traceparent,
    tracestate: event.metadata.tracestate,
  });
}
