import { plainToInstance } from 'class-transformer';
import { CloudEvent, ValidationError as CloudEventValidationError } from 'cloudevents';
import { isRFC3339, isUUID, validateSync, type ValidationError } from 'class-validator';
import { applicationPropertyProblems, type ApplicationProperties } from './cloud-event-amqp-properties';
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
  /**
   * The stream version of the domain event (the CloudEvents sequence extension): a decimal string
   * zero-padded to SEQUENCE_DIGITS, so that string order is stream order ("00000000000000000010").
   * Messages of earlier releases carry it unpadded ("10"); see parseSequence.
   */
  sequence: string;
  /**
   * The W3C trace context the event was written in (the CloudEvents distributed-tracing
   * extension): the consumer continues that trace. Absent when the event was stored untraced.
   */
  traceparent?: string;
  tracestate?: string;
}

export const CLOUD_EVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export interface EnvelopeAttributes {
  id: string;
  source: string;
  subject: string;
  time: string;
  correlationId: string;
  causationId: string;
  /** The stream version, a positive integer; written as formatSequence makes it. */
  sequence: number;
  /** W3C trace context for the distributed-tracing extension; both left out when undefined. */
  traceparent?: string;
  tracestate?: string;
}

/**
 * Digits of `sequence`: 20 hold any unsigned 64-bit integer, so one width serves every stream
 * version there can be, and a CloudEvents tool that orders by the string (as the sequence
 * extension asks) gets stream order.
 */
export const SEQUENCE_DIGITS = 20;

/** `sequence` for stream version `streamVersion` (a positive safe integer, else RangeError): 10 → "00000000000000000010". */
export function formatSequence(streamVersion: number): string {
  if (!Number.isSafeInteger(streamVersion) || streamVersion < 1) {
    throw new RangeError(`a stream version is a positive integer, got ${streamVersion}`);
  }
  return String(streamVersion).padStart(SEQUENCE_DIGITS, '0');
}

// Zero-padded to 20 digits (this release), or unpadded without a leading zero (earlier releases).
const SEQUENCE_FORMS = /^(?:[0-9]{20}|[1-9][0-9]{0,18})$/;

/**
 * The stream version a `sequence` attribute holds, read by its numeric value, never by comparing
 * strings: during a rollout a stream's events come in both forms ("9", then
 * "00000000000000000010"), and as strings those sort the wrong way round. A JSON integer, which
 * this consumer always took, is read too. Undefined for anything else: non-digits, zero, more
 * than 20 digits, a leading zero short of 20 digits, or more than Number.MAX_SAFE_INTEGER.
 */
export function parseSequence(value: unknown): number | undefined {
  const sequence = typeof value === 'string' && SEQUENCE_FORMS.test(value) ? Number(value) : value;
  return typeof sequence === 'number' && Number.isSafeInteger(sequence) && sequence >= 1 ? sequence : undefined;
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
      sequence: formatSequence(attributes.sequence),
      ...(attributes.traceparent !== undefined && { traceparent: attributes.traceparent }),
      ...(attributes.tracestate !== undefined && { tracestate: attributes.tracestate }),
    },
    true,
  );
  return event.toJSON() as unknown as IntegrationEnvelope;
}

/** The longest `message` of an InvalidIntegrationEventError: it becomes the dead letter's x-last-error header. */
const MAX_PROBLEMS_TEXT = 1_000;

/**
 * An incoming message that can never be applied; `problems` each name the attribute and the rule.
 * `message` lists them up to about MAX_PROBLEMS_TEXT characters and counts the rest ("; and 1998
 * more"): a message with thousands of bad headers must not make a header RabbitMQ or amqplib refuse.
 */
export class InvalidIntegrationEventError extends Error {
  constructor(readonly problems: string[]) {
    super(summarizeProblems(problems));
    this.name = 'InvalidIntegrationEventError';
  }
}

function summarizeProblems(problems: readonly string[]): string {
  let text = '';
  for (const [index, problem] of problems.entries()) {
    const next = index === 0 ? problem.slice(0, MAX_PROBLEMS_TEXT) : `${text}; ${problem}`;
    if (next.length > MAX_PROBLEMS_TEXT) return `${text}; and ${problems.length - index} more`;
    text = next;
  }
  return text;
}

/** CloudEvents attribute names: lower-case letters and digits only (spec 1.0, "Attribute Naming Convention"). */
const ATTRIBUTE_NAME = /^[a-z0-9]+$/;
const REQUIRED_EXTENSIONS = ['correlationid', 'causationid'] as const;

export const SEQUENCE_PROBLEM =
  'sequence: must be the stream version (1 or more) as a decimal string zero-padded to 20 digits; the unpadded form of earlier releases is accepted too';

/**
 * Checks an incoming body: a CloudEvent in structured mode with everything the consumer relies
 * on (`id` and `subject` UUIDs, `sequence` a stream version in either form parseSequence reads,
 * `time` an RFC 3339 timestamp, our extensions under their exact lower-case names), of a known
 * type, whose data satisfies that type's contract; and, when the message has them, the
 * `cloudEvents:` application properties (AMQP headers) agree with the body. Anything else throws
 * InvalidIntegrationEventError listing every problem as `attribute: rule` (for the dead letter),
 * so no invalid event ever reaches the database. `sequence` is the stream version as a number.
 */
export function openCloudEvent(
  body: unknown,
  contracts: ReadonlyMap<string, IntegrationEventContract>,
  applicationProperties: ApplicationProperties = {},
): { envelope: IntegrationEnvelope; data: object; sequence: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidIntegrationEventError(['body: must be a JSON object (a CloudEvent in structured mode)']);
  }
  const attributes = body as Record<string, unknown>;
  const problems = [...envelopeProblems(attributes), ...applicationPropertyProblems(attributes, applicationProperties)];
  const contract = typeof attributes.type === 'string' ? contracts.get(attributes.type) : undefined;
  if (typeof attributes.type === 'string' && attributes.type.length > 0 && !contract) {
    problems.push(`type: unknown event type "${attributes.type.slice(0, 200)}"`);
  }
  if (problems.length > 0) throw new InvalidIntegrationEventError(problems);

  // The SDK's own checks last (URI-references, value types): ours above name the attribute first.
  let event: CloudEvent<unknown>;
  try {
    event = new CloudEvent(attributes, true);
  } catch (error) {
    throw new InvalidIntegrationEventError([`not a valid CloudEvent: ${describeSdkError(error)}`]);
  }
  const envelope = event.toJSON() as unknown as IntegrationEnvelope;
  const data = plainToInstance(contract!, envelope.data);
  const errors = validateSync(data, { forbidUnknownValues: true });
  if (errors.length > 0) {
    throw new InvalidIntegrationEventError(dataProblems(errors, 'data').map((problem) => `${problem} (contract ${envelope.type})`));
  }
  return { envelope, data, sequence: parseSequence(attributes.sequence)! };
}

function envelopeProblems(attributes: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined) continue; // absent on the wire (JSON has no undefined)
    if (name === 'data_base64') {
      problems.push('data_base64: binary data is not accepted; data must be a JSON object');
    } else if (!ATTRIBUTE_NAME.test(name)) {
      const lower = name.toLowerCase();
      const hint = ATTRIBUTE_NAME.test(lower) ? `; did you mean "${lower}"?` : '';
      problems.push(`${name.slice(0, 100)}: attribute names must be lower-case letters and digits (CloudEvents)${hint}`);
    }
  }
  if (attributes.specversion !== '1.0') problems.push('specversion: must be "1.0"');
  if (!isUuidString(attributes.id)) problems.push('id: must be a UUID (the event id)');
  if (!isNonEmptyString(attributes.source)) problems.push('source: must be a non-empty string (a URI-reference)');
  if (!isNonEmptyString(attributes.type)) problems.push('type: must be a non-empty string (the event type)');
  if (!isUuidString(attributes.subject)) problems.push('subject: must be a UUID (the aggregate id)');
  if (!isTimestamp(attributes.time)) {
    problems.push('time: must be an RFC 3339 timestamp');
  }
  if (parseSequence(attributes.sequence) === undefined) problems.push(SEQUENCE_PROBLEM);
  for (const extension of REQUIRED_EXTENSIONS) {
    if (!isNonEmptyString(attributes[extension])) problems.push(`${extension}: must be a non-empty string (required extension)`);
  }
  if (attributes.datacontenttype !== undefined && attributes.datacontenttype !== 'application/json') {
    problems.push('datacontenttype: must be "application/json" when present');
  }
  if (typeof attributes.data !== 'object' || attributes.data === null || Array.isArray(attributes.data)) {
    problems.push('data: must be a JSON object');
  }
  return problems;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isUuidString(value: unknown): value is string {
  return typeof value === 'string' && isUUID(value);
}

/** RFC 3339 and a date that exists (the pattern alone lets 2026-02-31 through). */
function isTimestamp(value: unknown): boolean {
  if (typeof value !== 'string' || !isRFC3339(value)) return false;
  const [year, month, day] = value.slice(0, 10).split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day && !Number.isNaN(Date.parse(value));
}

/** `data.lines.0.quantity: quantity must not be less than 1`, one per failed constraint path. */
function dataProblems(errors: ValidationError[], path: string): string[] {
  return errors.flatMap((error) => {
    const at = `${path}.${error.property}`;
    const own = Object.values(error.constraints ?? {});
    const nested = dataProblems(error.children ?? [], at);
    return own.length > 0 ? [`${at}: ${own.join(', ')}`, ...nested] : nested.length > 0 ? nested : [`${at}: invalid`];
  });
}

/** The SDK reports some failures with an empty `errors` list; its message then says what failed. */
function describeSdkError(error: unknown): string {
  if (error instanceof CloudEventValidationError && Array.isArray(error.errors) && error.errors.length > 0) {
    const details = error.errors.map((detail) =>
      typeof detail === 'object' && detail !== null && 'message' in detail
        ? `${String((detail as { instancePath?: string }).instancePath ?? '').replace(/^\//, '') || '(event)'}: ${String(detail.message)}`
        : String(detail),
    );
    return details.join('; ').slice(0, 500);
  }
  return error instanceof Error ? error.message : String(error);
}
