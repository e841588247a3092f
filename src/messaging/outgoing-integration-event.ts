import type { IntegrationEnvelope } from '../contracts';

/** One message for the exchange: the CloudEvent body and its routing key. */
export interface OutgoingIntegrationEvent {
  routingKey: string;
  envelope: IntegrationEnvelope;
}
