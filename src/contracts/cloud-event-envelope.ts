import { plainToInstance } from 'class-transformer';
import { CloudEvent, ValidationError as CloudEventValidationError } from 'cloudevents';
import { validateSync } from 'class-validator';
import type { IntegrationEventContract } from './index';

/** What travels on the wire: a CloudEvents 1.0 event in structured mode (the whole JSON body). */
export interface IntegrationEnvelope<T = unknown> {
  id: string;
  source: string;
  type: string;
  specversion: '1.0';
  time: string;
  subject: string;
  datacontenttype: 'application/json';
  data: T;
  correlationid: string;
  causationid: string;
  /** The stream version of the domain event, as a decimal string (the CloudEvents sequence extension). */
  sequence: string;
}

export const CLOUD_EVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export interface EnvelopeAttributes {
  id: string;
  source: string;
  subject: string;
  time: string;
  correlationId: string;
  causationId: string;
  sequence: number;
}

/** Builds and validates the envelope with the cloudevents SDK. */
export function wrapInCloudEvent(contract: { type: string }, data: object, attributes: EnvelopeAttributes): IntegrationEnvelope {
  const event = new CloudEvent(
    {
      id: attributes.id,
      source: attributes.source,
      type: contract.type,
      specversion: '1.0',
      time: attributes.time,
      subject: attributes.subject,
      datacontenttype: 'application/json',
      data,
      correlationid: attributes.correlationId,
      causationid: attributes.causationId,
      sequence: String(attributes.sequence),
    },
    true,
  );
  return event.toJSON() as unknown as IntegrationEnvelope;
}

export class InvalidIntegrationEventError extends Error {}

/**
 * Checks an incoming body: a valid CloudEvent with our extensions, of a known type, whose data
 * satisfies that type's contract. Anything else is refused with a reason (for the dead letter).
 */
export function openCloudEvent(
  body: unknown,
  contracts: ReadonlyMap<string, IntegrationEventContract>,
): { envelope: IntegrationEnvelope; data: object; sequence: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidIntegrationEventError('the body is not a JSON object');
  }
  let event: CloudEvent<unknown>;
  try {
    event = new CloudEvent(body as Record<string, unknown>, true);
  } catch (error) {
    const reason = error instanceof CloudEventValidationError ? JSON.stringify(error.errors ?? error.message) : String(error);
    throw new InvalidIntegrationEventError(`not a valid CloudEvent: ${reason}`);
  }
  const envelope = event.toJSON() as unknown as IntegrationEnvelope;
  for (const extension of ['correlationid', 'causationid', 'sequence'] as const) {
    if (typeof envelope[extension] !== 'string' || envelope[extension].length === 0) {
      throw new InvalidIntegrationEventError(`the ${extension} extension is missing`);
    }
  }
  const sequence = Number(envelope.sequence);
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new InvalidIntegrationEventError('sequence is not a positive integer');
  if (!envelope.subject) throw new InvalidIntegrationEventError('subject (the aggregate id) is missing');
  const contract = contracts.get(envelope.type);
  if (!contract) throw new InvalidIntegrationEventError(`unknown event type ${envelope.type}`);
  const data = plainToInstance(contract, envelope.data);
  if (typeof data !== 'object' || data === null) throw new InvalidIntegrationEventError('data is not an object');
  const errors = validateSync(data, { forbidUnknownValues: true });
  if (errors.length > 0) {
    const fields = errors.map((error) => `${error.property}: ${Object.values(error.constraints ?? {}).join(', ') || 'invalid'}`);
    throw new InvalidIntegrationEventError(`data does not match ${envelope.type}: ${fields.join('; ')}`);
  }
  return { envelope, data, sequence };
}
