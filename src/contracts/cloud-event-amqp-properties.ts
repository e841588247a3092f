/** AMQP application properties (RabbitMQ message headers) as amqplib hands them over. */
export type ApplicationProperties = Readonly<Record<string, unknown>>;

/** The prefix the CloudEvents AMQP protocol binding (1.0.2, 3.1.3.1) gives an attribute's application property. */
export const CLOUD_EVENTS_PROPERTY_PREFIX = 'cloudEvents:';

/**
 * Attributes the binding never maps to an application property: `datacontenttype` travels as
 * the AMQP content-type in binary mode (and in structured mode that property names the event
 * format instead); `data` is the payload, no attribute.
 */
const NOT_MAPPED = new Set(['datacontenttype', 'data', 'data_base64']);

/**
 * The `cloudEvents:<attribute>` application properties of a structured-mode message: every
 * attribute of `envelope` except datacontenttype and data, as the binding defines them for binary
 * mode and allows them in structured mode (3.2.3), so a broker or tool can route and filter on
 * them without parsing the body. Values are the attributes' canonical strings; `time` stays a
 * string because an AMQP 0-9-1 timestamp holds whole seconds and would lose the milliseconds.
 */
export function toCloudEventsApplicationProperties(envelope: object): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [name, value] of Object.entries(envelope)) {
    if (NOT_MAPPED.has(name) || value === undefined || value === null || typeof value === 'object') continue;
    properties[`${CLOUD_EVENTS_PROPERTY_PREFIX}${name}`] = String(value);
  }
  return properties;
}

/**
 * Where the `cloudEvents:` application properties of a message disagree with its structured-mode
 * body (`attributes`), one `cloudEvents:<name>: …` problem each. A message may carry none of
 * them (earlier releases sent none) or any subset; each one present must hold the body's value,
 * as a canonical string or in its native AMQP type (the binding asks receivers to read both):
 * a header that says another sequence, source or id than the body is a forged or broken message.
 */
export function applicationPropertyProblems(attributes: Readonly<Record<string, unknown>>, properties: ApplicationProperties): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(properties)) {
    if (!key.startsWith(CLOUD_EVENTS_PROPERTY_PREFIX)) continue;
    const name = key.slice(CLOUD_EVENTS_PROPERTY_PREFIX.length);
    const inBody = Object.hasOwn(attributes, name) ? attributes[name] : undefined;
    if (NOT_MAPPED.has(name) || !agrees(value, inBody, name)) {
      problems.push(`${key.slice(0, 100)}: the application property says ${describe(value)} but the body says ${describe(inBody)}`);
    }
  }
  return problems;
}

function agrees(property: unknown, attribute: unknown, name: string): boolean {
  if (attribute === undefined || attribute === null || typeof attribute === 'object') return false;
  if (typeof property === 'string' || typeof property === 'number' || typeof property === 'boolean') {
    return String(property) === String(attribute);
  }
  // amqplib's form of an AMQP timestamp: whole seconds.
  if (name === 'time' && isAmqpTimestamp(property) && typeof attribute === 'string') {
    return property.value === Math.floor(Date.parse(attribute) / 1000);
  }
  return false;
}

function isAmqpTimestamp(value: unknown): value is { '!': 'timestamp'; value: number } {
  return typeof value === 'object' && value !== null && (value as { '!'?: unknown })['!'] === 'timestamp';
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'string' ? JSON.stringify(value) : Buffer.isBuffer(value) ? `${value.length} bytes` : JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}
