import type { StoredEvent } from '../stored-event';
import { EventUpcasters } from './event-upcasters';

function stored(eventType: string, schemaVersion: number, payload: Record<string, unknown>): StoredEvent {
  return {
    position: '7',
    globalPosition: '900',
    eventId: 'e1',
    streamType: 'Thing',
    streamId: 's1',
    streamVersion: 3,
    eventType,
    schemaVersion,
    payload,
    metadata: { correlationId: 'c', causationId: 'c', occurredAt: '2026-01-01T00:00:00.000Z' },
    recordedAt: new Date('2026-01-01T00:00:00Z'),
  };
}

describe('EventUpcasters', () => {
  it('runs a chain of upcasters in version order and leaves everything but payload and schema version alone', () => {
    // given
    const upcasters = new EventUpcasters();
    upcasters.register(
      { eventType: 'ThingHappened', fromVersion: 2, upcast: ({ size, ...rest }) => ({ ...rest, size: { value: size } }) },
      { eventType: 'ThingHappened', fromVersion: 1, upcast: ({ sz, ...rest }) => ({ ...rest, size: sz }) },
    );
    const v1 = stored('ThingHappened', 1, { sz: 3, name: 'x' });

    // when
    const current = upcasters.upcast(v1);

    // then
    expect(current).toEqual({ ...v1, schemaVersion: 3, payload: { name: 'x', size: { value: 3 } } });
    expect(v1.payload).toEqual({ sz: 3, name: 'x' });
  });

  it('returns an event of the current version, or of a type without upcasters, unchanged', () => {
    // given
    const upcasters = new EventUpcasters();
    upcasters.register({ eventType: 'ThingHappened', fromVersion: 1, upcast: (payload) => ({ ...payload, v2: true }) });
    const current = stored('ThingHappened', 2, { v2: true });
    const other = stored('OtherThing', 1, { a: 1 });

    // then
    expect(upcasters.upcast(current)).toBe(current);
    expect(upcasters.upcastAll([other])).toEqual([other]);
  });

  it('refuses two upcasters for the same type and version', () => {
    // given
    const upcasters = new EventUpcasters();
    const upcaster = { eventType: 'ThingHappened', fromVersion: 1, upcast: (payload: Record<string, unknown>) => payload };
    upcasters.register(upcaster);

    // then
    expect(() => upcasters.register(upcaster)).toThrow('two upcasters for ThingHappened v1');
  });
});
