import { randomUUID } from 'node:crypto';
import { INTEGRATION_EVENT_CONTRACTS, InvalidIntegrationEventError, OrderPlacedV1, UserRegisteredV1, openCloudEvent, wrapInCloudEvent } from './index';

function registered(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const userId = randomUUID();
  const event = wrapInCloudEvent(
    UserRegisteredV1,
    { userId, email: 'ada@example.com', name: 'Ada', registeredAt: '2026-01-02T03:04:05.000Z' },
    { id: randomUUID(), source: '/users', subject: userId, time: '2026-01-02T03:04:05.000Z', correlationId: 'c', causationId: 'c', sequence: 1 },
  );
  return { ...event, ...overrides };
}

function problemsOf(body: unknown): string[] {
  try {
    openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS);
  } catch (error) {
    if (error instanceof InvalidIntegrationEventError) return error.problems;
    throw error;
  }
  throw new Error('the event was accepted');
}

describe('opening an incoming CloudEvent', () => {
  it('accepts what wrapInCloudEvent produces and reads the sequence as a number', () => {
    const body = registered();
    const opened = openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS);
    expect(opened.sequence).toBe(1);
    expect(opened.envelope.id).toBe(body.id);
    expect(opened.data).toBeInstanceOf(UserRegisteredV1);
  });

  it('carries the W3C trace context in the distributed-tracing extension, and leaves it out when there is none', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const userId = randomUUID();
    const attributes = { id: randomUUID(), source: '/users', subject: userId, time: '2026-01-02T03:04:05.000Z', correlationId: 'c', causationId: 'c', sequence: 1 };
    const data = { userId, email: 'ada@example.com', name: 'Ada', registeredAt: '2026-01-02T03:04:05.000Z' };

    const traced = wrapInCloudEvent(UserRegisteredV1, data, { ...attributes, traceparent, tracestate: 'vendor=x' });
    expect(JSON.parse(JSON.stringify(traced))).toMatchObject({ traceparent, tracestate: 'vendor=x' });
    expect(openCloudEvent(traced, INTEGRATION_EVENT_CONTRACTS).envelope).toMatchObject({ traceparent, tracestate: 'vendor=x' });

    const untraced = JSON.parse(JSON.stringify(wrapInCloudEvent(UserRegisteredV1, data, attributes)));
    expect(Object.keys(untraced)).not.toEqual(expect.arrayContaining(['traceparent']));
    expect(Object.keys(untraced)).not.toEqual(expect.arrayContaining(['tracestate']));
  });

  it('accepts a malformed traceparent: tracing data never makes an event unprocessable', () => {
    expect(openCloudEvent(registered({ traceparent: 'garbage' }), INTEGRATION_EVENT_CONTRACTS).envelope.traceparent).toBe('garbage');
  });

  it.each([
    ['a non-UUID id', { id: 'evt-1' }, 'id: must be a UUID (the event id)'],
    ['a non-UUID subject', { subject: 'user-42' }, 'subject: must be a UUID (the aggregate id)'],
    ['a missing subject', { subject: undefined }, 'subject: must be a UUID (the aggregate id)'],
    ['a zero sequence', { sequence: '0' }, 'sequence: must be a positive integer, as a decimal string (the stream version)'],
    ['a fractional sequence', { sequence: '1.5' }, 'sequence: must be a positive integer, as a decimal string (the stream version)'],
    ['a time that is no timestamp', { time: 'yesterday' }, 'time: must be an RFC 3339 timestamp'],
    ['an impossible date', { time: '2026-02-31T00:00:00Z' }, 'time: must be an RFC 3339 timestamp'],
    ['a missing causationid', { causationid: undefined }, 'causationid: must be a non-empty string (required extension)'],
    ['another specversion', { specversion: '0.3' }, 'specversion: must be "1.0"'],
    ['data that is not an object', { data: 'hello' }, 'data: must be a JSON object'],
    ['an unknown type', { type: 'com.example.unknown.v1' }, 'type: unknown event type "com.example.unknown.v1"'],
  ])('refuses %s, naming the attribute and the rule', (_, overrides, problem) => {
    expect(problemsOf(registered(overrides))).toContain(problem);
  });

  it('refuses an extension spelled CorrelationId: CloudEvents attribute names are lower-case', () => {
    const body = registered();
    const { correlationid, ...rest } = body;
    const problems = problemsOf({ ...rest, CorrelationId: correlationid });
    expect(problems).toContain('CorrelationId: attribute names must be lower-case letters and digits (CloudEvents); did you mean "correlationid"?');
    expect(problems).toContain('correlationid: must be a non-empty string (required extension)');
  });

  it('lists every problem at once', () => {
    expect(problemsOf(registered({ id: 'x', subject: 'y', sequence: -1 }))).toEqual([
      'id: must be a UUID (the event id)',
      'subject: must be a UUID (the aggregate id)',
      'sequence: must be a positive integer, as a decimal string (the stream version)',
    ]);
  });

  it('names the data field and the contract, nested ones by their path', () => {
    const orderId = randomUUID();
    const body = wrapInCloudEvent(
      OrderPlacedV1,
      { orderId, customerId: 'nobody', currency: 'EUR', total: 1, lines: [{ sku: 'A', quantity: 0, unitPrice: 1 }], placedAt: '2026-01-02T03:04:05Z' },
      { id: randomUUID(), source: '/orders', subject: orderId, time: '2026-01-02T03:04:05Z', correlationId: 'c', causationId: 'c', sequence: 1 },
    );
    expect(problemsOf(body)).toEqual([
      `data.customerId: customerId must be a UUID (contract ${OrderPlacedV1.type})`,
      `data.lines.0.quantity: quantity must not be less than 1 (contract ${OrderPlacedV1.type})`,
    ]);
  });

  it('refuses a body that is no JSON object', () => {
    expect(problemsOf('{not json')).toEqual(['body: must be a JSON object (a CloudEvent in structured mode)']);
    expect(problemsOf([1])).toEqual(['body: must be a JSON object (a CloudEvent in structured mode)']);
  });
});
