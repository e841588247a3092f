import type { StoredEvent } from '../stored-event';
import { EventUpcasters, UnreadableEventVersionError } from './event-upcasters';

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

describe('EventUpcasters with the current versions of the event classes', () => {
  function registry(): EventUpcasters {
    const upcasters = new EventUpcasters();
    upcasters.register({ eventType: 'ThingHappened', fromVersion: 1, upcast: ({ sz, ...rest }) => ({ ...rest, size: sz }) });
    upcasters.registerCurrentVersions({ type: 'ThingHappened', schemaVersion: 2 }, { type: 'ThingMoved', schemaVersion: 2 }, { type: 'ThingNamed' });
    return upcasters;
  }

  it('passes an event that reaches its current version, upcast or as stored', () => {
    const upcasters = registry();

    expect(upcasters.upcast(stored('ThingHappened', 1, { sz: 3 }))).toMatchObject({ schemaVersion: 2, payload: { size: 3 } });
    expect(upcasters.upcast(stored('ThingMoved', 2, { to: 'x' }))).toMatchObject({ schemaVersion: 2, payload: { to: 'x' } });
    expect(upcasters.upcast(stored('ThingNamed', 1, { name: 'x' }))).toMatchObject({ schemaVersion: 1 });
  });

  it('refuses a version no upcaster reads (written by an older process after a migration rewrote such rows), naming the event', () => {
    const upcasters = registry();
    const old = stored('ThingMoved', 1, { to: 'x' });

    expect(() => upcasters.upcast(old)).toThrow(UnreadableEventVersionError);
    expect(() => upcasters.upcastAll([old])).toThrow(
      'ThingMoved e1 (stream Thing s1, version 3) is stored at schema version 1, and this code reads ThingMoved only at v2: no upcaster reads v1',
    );
  });

  it('refuses a version newer than the code’s', () => {
    expect(() => registry().upcast(stored('ThingHappened', 3, {}))).toThrow(/stored at schema version 3, and this code reads ThingHappened only at v2: it was written by a newer version/);
  });

  it('refuses an upcaster from the current version or beyond, in either order of registration', () => {
    const upcasters = registry();
    expect(() => upcasters.register({ eventType: 'ThingHappened', fromVersion: 2, upcast: (payload) => payload })).toThrow('an upcaster from ThingHappened v2, which is written at v2');

    const early = new EventUpcasters();
    early.register({ eventType: 'ThingMoved', fromVersion: 2, upcast: (payload) => payload });
    expect(() => early.registerCurrentVersions({ type: 'ThingMoved', schemaVersion: 2 })).toThrow('an upcaster from ThingMoved v2, which is written at v2');
  });
});
