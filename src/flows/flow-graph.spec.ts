import type { EventMetadata, StoredEvent } from '../event-store';
import { buildFlow, type FlowInputs } from './flow-graph';

const CORRELATION = 'corr-1';
const at = (ms: number) => new Date(Date.UTC(2026, 11, 1, 10, 0, 0, ms));

function event(id: string, type: string, position: number, recordedMs: number, metadata: Partial<EventMetadata>): StoredEvent {
  return {
    position: String(position),
    globalPosition: String(position),
    eventId: id,
    streamType: 'Order',
    streamId: 'stream-1',
    streamVersion: position,
    eventType: type,
    schemaVersion: 1,
    payload: {},
    metadata: { correlationId: CORRELATION, causationId: CORRELATION, occurredAt: at(recordedMs).toISOString(), ...metadata },
    recordedAt: at(recordedMs),
  };
}

function inputs(overrides: Partial<FlowInputs>): FlowInputs {
  return {
    correlationId: CORRELATION,
    events: [],
    receipts: [],
    routingKeys: new Map(),
    relayCheckpoint: 0n,
    publishTimes: new Map(),
    consumer: { status: 'not-configured' },
    ...overrides,
  };
}

describe('buildFlow', () => {
  const placed = event('e1', 'OrderPlaced', 1, 4, {
    request: { method: 'POST', path: '/orders', receivedAt: at(0).toISOString() },
    command: { name: 'PlaceOrderCommand', startedAt: at(1).toISOString() },
  });
  const reserved = event('e2', 'CreditReserved', 2, 12, {
    causationId: 'e1',
    command: { name: 'ReserveCreditCommand', startedAt: at(10).toISOString(), reaction: 'reaction:saga', step: 'reserve' },
  });
  const receipts = [
    { reaction: 'reaction:saga', eventId: 'e1', step: '*', recordedAt: at(8) },
    { reaction: 'reaction:saga', eventId: 'e1', step: 'reserve', recordedAt: at(8) },
    { reaction: 'reaction:saga', eventId: 'e2', step: '*', recordedAt: at(15) },
  ];

  it('links request → command → event → step → command → event, with offsets and gaps', () => {
    const flow = buildFlow(inputs({ events: [placed, reserved], receipts }));
    expect(flow.nodes.map(({ id, causedBy, offsetMs, gapMs }) => [id, causedBy, offsetMs, gapMs])).toEqual([
      ['request:1', null, 0, null],
      ['command:1', 'request:1', 1, 1],
      ['event:e1', 'command:1', 4, 3],
      ['step:reaction:saga:e1:reserve', 'event:e1', 8, 4],
      ['command:2', 'step:reaction:saga:e1:reserve', 10, 2],
      ['event:e2', 'command:2', 12, 2],
      ['step:reaction:saga:e2:*', 'event:e2', 15, 3],
    ]);
    expect(flow.nodes.at(-1)?.label).toBe('saga: took it, no step to run');
    expect(flow).toMatchObject({ startedAt: at(0).toISOString(), endedAt: at(15).toISOString(), durationMs: 15 });
  });

  it("places a node whose clock is behind its cause's at its cause's time, and what it caused on that clock as much later", () => {
    // The database's clock (the steps' receipts) is 500 ms ahead of the API's (commands, events).
    const skewed = [
      { reaction: 'reaction:saga', eventId: 'e1', step: 'reserve', recordedAt: at(508) },
      { reaction: 'reaction:saga', eventId: 'e2', step: '*', recordedAt: at(515) },
    ];
    const flow = buildFlow(inputs({ events: [placed, reserved], receipts: skewed }));
    expect(flow.nodes.map(({ id, at: time, offsetMs, gapMs, clockSkewMs }) => [id, time, offsetMs, gapMs, clockSkewMs])).toEqual([
      ['request:1', at(0).toISOString(), 0, null, undefined],
      ['command:1', at(1).toISOString(), 1, 1, undefined],
      ['event:e1', at(4).toISOString(), 4, 3, undefined],
      // A clock ahead looks like a slow step: nothing tells them apart.
      ['step:reaction:saga:e1:reserve', at(508).toISOString(), 508, 504, undefined],
      // Recorded at 10, before its step: placed at the step's time, its recorded time kept.
      ['command:2', at(10).toISOString(), 508, 0, 498],
      // The same clock, as much later: its 2 ms after its command are kept.
      ['event:e2', at(12).toISOString(), 510, 2, 498],
      // The database's clock again: not moved.
      ['step:reaction:saga:e2:*', at(515).toISOString(), 515, 5, undefined],
    ]);
    expect(flow).toMatchObject({ startedAt: at(0).toISOString(), endedAt: at(515).toISOString(), durationMs: 515 });
  });

  it('keeps requests and command runs of the same millisecond apart by their ids', () => {
    const sameMillisecond = (eventId: string, position: number, request: string, run: string) =>
      event(eventId, 'UserRegistered', position, 2, {
        request: { id: request, method: 'POST', path: '/users', receivedAt: at(0).toISOString() },
        command: { id: run, name: 'RegisterUserCommand', startedAt: at(1).toISOString() },
      });
    const flow = buildFlow(inputs({ events: [sameMillisecond('e1', 1, 'r1', 'c1'), sameMillisecond('e2', 2, 'r2', 'c2')] }));
    expect(flow.nodes.filter(({ kind }) => kind !== 'event').map(({ id, causedBy }) => [id, causedBy])).toEqual([
      ['request:1', null],
      ['request:2', null],
      ['command:1', 'request:1'],
      ['command:2', 'request:2'],
    ]);
  });

  it('links events stored before requests and commands were recorded to their causes directly', () => {
    const old = event('e1', 'OrderPlaced', 1, 4, {});
    const caused = event('e2', 'OrderConfirmed', 2, 9, { causationId: 'e1' });
    const flow = buildFlow(inputs({ events: [old, caused] }));
    expect(flow.nodes.map(({ id, causedBy, at: time }) => [id, causedBy, time])).toEqual([
      ['request:unrecorded', null, null],
      ['event:e1', 'request:unrecorded', at(4).toISOString()],
      ['event:e2', 'event:e1', at(9).toISOString()],
    ]);
  });

  it('shows a publish as pending until the relay passed it, and the consumer as unreachable on its nodes', () => {
    const flow = buildFlow(
      inputs({
        events: [placed, reserved],
        routingKeys: new Map([
          ['e1', 'orders.placed.v1'],
          ['e2', 'users.reserved.v1'],
        ]),
        relayCheckpoint: 1n,
        publishTimes: new Map([['1', { publishedAt: at(20), confirmedAt: at(22) }]]),
        consumer: { status: 'unreachable', detail: 'ECONNREFUSED' },
      }),
    );
    const node = (id: string) => flow.nodes.find((candidate) => candidate.id === id);
    expect(node('publish:e1')).toMatchObject({ at: at(20).toISOString(), gapMs: 16, publish: { status: 'published', confirmedAt: at(22).toISOString() } });
    expect(node('publish:e2')).toMatchObject({ at: null, gapMs: null, publish: { status: 'pending', confirmedAt: null } });
    expect(node('consumer:e1')).toMatchObject({ at: null, causedBy: 'publish:e1', consumer: { status: 'consumer-unreachable' } });
    expect(flow.consumer).toEqual({ status: 'unreachable', detail: 'ECONNREFUSED' });
    // A node without a time comes right after its cause.
    const ids = flow.nodes.map(({ id }) => id);
    expect(ids.indexOf('publish:e2')).toBe(ids.indexOf('event:e2') + 1);
  });

  it('puts the consumer effects and their time on the consumer node', () => {
    const flow = buildFlow(
      inputs({
        events: [placed],
        routingKeys: new Map([['e1', 'orders.placed.v1']]),
        relayCheckpoint: 1n,
        publishTimes: new Map([['1', { publishedAt: at(20), confirmedAt: at(22) }]]),
        consumer: { status: 'reachable', applied: new Map([['e1', { appliedAt: at(30), effects: [{ readModel: 'customer-stats' }] }]]) },
      }),
    );
    expect(flow.nodes.at(-1)).toMatchObject({ id: 'consumer:e1', label: 'customer-stats', gapMs: 10, consumer: { status: 'applied' } });
  });
});
