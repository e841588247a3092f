import { randomUUID } from 'node:crypto';
import {
  formatSequence,
  INTEGRATION_EVENT_CONTRACTS,
  InvalidIntegrationEventError,
  OrderPlacedV1,
  openCloudEvent,
  parseSequence,
  SEQUENCE_PROBLEM,
  toCloudEventsApplicationProperties,
  UserRegisteredV1,
  wrapInCloudEvent,
} from './index';

function registered(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const userId = randomUUID();
  const event = wrapInCloudEvent(
    UserRegisteredV1,
    { userId, email: 'ada@example.com', name: 'Ada', registeredAt: '2026-01-02T03:04:05.000Z' },
    { id: randomUUID(), source: '/users', subject: userId, time: '2026-01-02T03:04:05.000Z', correlationId: 'c', causationId: 'c', sequence: 1 },
  );
  return { ...event, ...overrides };
}

function problemsOf(body: unknown, headers: Record<string, unknown> = {}): string[] {
  try {
    openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS, headers);
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
    ['a zero sequence', { sequence: '0' }, SEQUENCE_PROBLEM],
    ['a zero sequence, padded', { sequence: '00000000000000000000' }, SEQUENCE_PROBLEM],
    ['a fractional sequence', { sequence: '1.5' }, SEQUENCE_PROBLEM],
    ['a sequence of 21 digits', { sequence: '000000000000000000010' }, SEQUENCE_PROBLEM],
    ['a sequence with a sign', { sequence: '+10' }, SEQUENCE_PROBLEM],
    ['a sequence padded short of 20 digits', { sequence: '0010' }, SEQUENCE_PROBLEM],
    ['a 20-digit sequence past the largest safe integer', { sequence: '18446744073709551615' }, SEQUENCE_PROBLEM],
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
      SEQUENCE_PROBLEM,
    ]);
  });

  it('keeps its message (the dead letter\'s reason) short however many problems there are, counting the rest', () => {
    const headers = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`cloudEvents:x${i}`, 'y']));
    let error: unknown;
    try {
      openCloudEvent(registered(), INTEGRATION_EVENT_CONTRACTS, headers);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidIntegrationEventError);
    const { problems, message } = error as InvalidIntegrationEventError;
    expect(problems).toHaveLength(2_000);
    expect(message.length).toBeLessThanOrEqual(1_100);
    expect(message).toMatch(/^cloudEvents:x0: the application property says "y" but the body says nothing; cloudEvents:x1: .*; and 19\d\d more$/);
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

describe('the sequence attribute', () => {
  it('is the stream version zero-padded to 20 digits', () => {
    expect(formatSequence(10)).toBe('00000000000000000010');
    expect(formatSequence(Number.MAX_SAFE_INTEGER)).toBe('00009007199254740991');
    expect(registered().sequence).toBe('00000000000000000001');
  });

  it('refuses to write a stream version that is no positive integer', () => {
    for (const version of [0, -1, 1.5, Number.NaN, 2 ** 53]) expect(() => formatSequence(version)).toThrow(RangeError);
  });

  it('sorts as strings in the order of the stream versions, across 9/10 and 99/100', () => {
    const versions = [100, 9, 1, 99, 10, 11, 2];
    const sorted = versions.map(formatSequence).sort();
    expect(sorted.map(Number)).toEqual([1, 2, 9, 10, 11, 99, 100]);
    // What the unpadded form did, and why it changed.
    expect(versions.map(String).sort()).toEqual(['1', '10', '100', '11', '2', '9', '99']);
  });

  it('reads both forms by their numeric value: padded (now) and unpadded (earlier releases)', () => {
    expect(parseSequence('00000000000000000010')).toBe(10);
    expect(parseSequence('10')).toBe(10);
    expect(parseSequence('9')).toBe(9);
    expect(parseSequence(12)).toBe(12); // a JSON integer, as always accepted
    const mixed = ['00000000000000000010', '9', '00000000000000000100', '99'];
    expect(mixed.map((value) => parseSequence(value)!).sort((a, b) => a - b)).toEqual([9, 10, 99, 100]);
  });

  it.each(['', '0', '00000000000000000000', '-1', '1e3', ' 1', '1 ', '0x10', '010', '123456789012345678901', '99999999999999999999', 1.5, 0, null, true])(
    'reads %p as no sequence',
    (value) => expect(parseSequence(value)).toBeUndefined(),
  );

  it('opens an old-form event (unpadded sequence, source /eda/api) and a new-form one alike', () => {
    expect(openCloudEvent(registered({ sequence: '10', source: '/eda/api' }), INTEGRATION_EVENT_CONTRACTS).sequence).toBe(10);
    expect(openCloudEvent(registered({ sequence: '00000000000000000010', source: '/eda/users' }), INTEGRATION_EVENT_CONTRACTS).sequence).toBe(10);
  });
});

describe('the cloudEvents: application properties of a message', () => {
  it('carry every attribute but datacontenttype and data, as canonical strings', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const body = registered({ traceparent, tracestate: 'vendor=x' });
    expect(toCloudEventsApplicationProperties(body)).toEqual({
      'cloudEvents:id': body.id,
      'cloudEvents:source': '/users',
      'cloudEvents:type': UserRegisteredV1.type,
      'cloudEvents:specversion': '1.0',
      'cloudEvents:time': '2026-01-02T03:04:05.000Z',
      'cloudEvents:subject': body.subject,
      'cloudEvents:correlationid': 'c',
      'cloudEvents:causationid': 'c',
      'cloudEvents:sequence': '00000000000000000001',
      'cloudEvents:traceparent': traceparent,
      'cloudEvents:tracestate': 'vendor=x',
    });
  });

  it('may be absent (earlier releases) or partial, and the event opens with them', () => {
    const body = registered();
    expect(openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS, {}).sequence).toBe(1);
    expect(openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS, toCloudEventsApplicationProperties(body)).sequence).toBe(1);
    const unrelated = { 'x-attempts': 2, correlationid: 'old-style', 'cloudEvents:sequence': body.sequence };
    expect(openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS, unrelated).sequence).toBe(1);
  });

  it('must agree with the body: a different sequence, source or id is refused, naming the property', () => {
    const body = registered();
    const headers = toCloudEventsApplicationProperties(body);
    expect(problemsOf(body, { ...headers, 'cloudEvents:sequence': '00000000000000000002' })).toEqual([
      'cloudEvents:sequence: the application property says "00000000000000000002" but the body says "00000000000000000001"',
    ]);
    // The same stream version in the other form is still another value of the attribute.
    expect(problemsOf(body, { ...headers, 'cloudEvents:sequence': '1' })).toHaveLength(1);
    expect(problemsOf(body, { ...headers, 'cloudEvents:source': '/elsewhere' })).toEqual([
      'cloudEvents:source: the application property says "/elsewhere" but the body says "/users"',
    ]);
    expect(problemsOf(body, { 'cloudEvents:id': randomUUID() })[0]).toMatch(/^cloudEvents:id: the application property says/);
  });

  it('refuses a property for an attribute the body does not have, and a mapping the binding does not define', () => {
    const body = registered();
    expect(problemsOf(body, { 'cloudEvents:partitionkey': 'p' })).toEqual([
      'cloudEvents:partitionkey: the application property says "p" but the body says nothing',
    ]);
    expect(problemsOf(body, { 'cloudEvents:datacontenttype': 'application/json' })).toHaveLength(1);
  });

  it('reads native AMQP values too: a long for a number, a timestamp in seconds for time', () => {
    const body = registered({ sequence: 7 });
    const seconds = Date.parse('2026-01-02T03:04:05.000Z') / 1000;
    expect(openCloudEvent(body, INTEGRATION_EVENT_CONTRACTS, { 'cloudEvents:sequence': 7, 'cloudEvents:time': { '!': 'timestamp', value: seconds } }).sequence).toBe(7);
    expect(problemsOf(body, { 'cloudEvents:time': { '!': 'timestamp', value: seconds + 1 } })).toHaveLength(1);
  });
});
