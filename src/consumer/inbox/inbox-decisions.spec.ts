import { decideBatch, type InboxState } from './inbox-decisions';
import type { ReceivedEvent } from './received-event';

const STREAM_A = 'aaaaaaaa-0000-4000-8000-000000000000';
const STREAM_B = 'bbbbbbbb-0000-4000-8000-000000000000';

function event(streamId: string, sequence: number, eventId = `${streamId.slice(0, 8)}-${sequence}`): ReceivedEvent {
  return { eventId, type: 't', streamId, sequence, time: '2025-01-01T00:00:00Z', data: {} };
}

function state(lastSequences: Record<string, number> = {}, recordedEventIds: string[] = []): InboxState {
  return { lastSequences: new Map(Object.entries(lastSequences)), recordedEventIds: new Set(recordedEventIds) };
}

describe('deciding a batch of events', () => {
  it('applies each stream in sequence order, whatever the order of arrival', () => {
    const events = [event(STREAM_A, 3), event(STREAM_B, 1), event(STREAM_A, 1), event(STREAM_A, 2)];
    const { outcomes, advancedTo } = decideBatch(events, state({ [STREAM_A]: 0, [STREAM_B]: 0 }));
    expect(outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(advancedTo).toEqual(new Map([[STREAM_A, 3], [STREAM_B, 1]]));
  });

  it('applies the events before a gap and holds those after it as too early', () => {
    const events = [event(STREAM_A, 5), event(STREAM_A, 6), event(STREAM_A, 8)];
    const { outcomes, advancedTo } = decideBatch(events, state({ [STREAM_A]: 4 }));
    expect(outcomes).toEqual(['applied', 'applied', 'too-early']);
    expect(advancedTo.get(STREAM_A)).toBe(6);
  });

  it('drops what was applied before, and a second copy of an event in the same batch', () => {
    const events = [event(STREAM_A, 2), event(STREAM_A, 3), event(STREAM_A, 3)];
    const { outcomes } = decideBatch(events, state({ [STREAM_A]: 2 }));
    expect(outcomes).toEqual(['duplicate', 'applied', 'duplicate']);
  });

  it('drops an event whose id the inbox holds already, and holds back what follows it', () => {
    const events = [event(STREAM_A, 1, 'recorded'), event(STREAM_A, 2)];
    const { outcomes, advancedTo } = decideBatch(events, state({ [STREAM_A]: 0 }, ['recorded']));
    expect(outcomes).toEqual(['duplicate', 'too-early']);
    expect(advancedTo.has(STREAM_A)).toBe(false);
  });

  it('drops an event id seen earlier in the batch even under another sequence', () => {
    const events = [event(STREAM_A, 1, 'same'), event(STREAM_B, 1, 'same')];
    expect(decideBatch(events, state()).outcomes).toEqual(['applied', 'duplicate']);
  });

  it('compares stream and event ids regardless of case', () => {
    const events = [event(STREAM_A.toUpperCase(), 1, 'ID-1'), event(STREAM_A, 2, 'id-2')];
    const { outcomes, advancedTo } = decideBatch(events, state({ [STREAM_A]: 0 }));
    expect(outcomes).toEqual(['applied', 'applied']);
    expect(advancedTo.get(STREAM_A)).toBe(2);
    expect(decideBatch([event(STREAM_A, 1, 'ID-1')], state({}, ['id-1'])).outcomes).toEqual(['duplicate']);
  });
});
