import { Injectable } from '@nestjs/common';
import type { StoredEvent } from '../stored-event';

/**
 * Turns the payload of `eventType` at schema version `fromVersion` into version `fromVersion + 1`.
 * A pure function of the old payload. Where one event alone cannot tell what the new version
 * needs (OrderConfirmed v1 → v2 needs the currency of its order's OrderPlaced), a migration
 * rewrites the stored rows instead, and no upcaster exists for that version.
 */
export interface EventUpcaster<TType extends string = string> {
  readonly eventType: TType;
  readonly fromVersion: number;
  upcast(payload: Record<string, unknown>): Record<string, unknown>;
}

/**
 * A stored event whose schema version the running code cannot read: no chain of upcasters brings
 * it to the version the code writes (one older than every upcaster, as a row written by a process
 * of the previous version after a migration rewrote such rows; or one newer, written by a later
 * version). Readers stop at it (a projection or the relay records where, a reaction parks it)
 * rather than pass a payload of the wrong shape on.
 */
export class UnreadableEventVersionError extends Error {
  constructor(event: StoredEvent, storedVersion: number, currentVersion: number) {
    const after = storedVersion === event.schemaVersion ? '' : ` (upcast from v${event.schemaVersion})`;
    const cause =
      storedVersion < currentVersion
        ? `no upcaster reads v${storedVersion}: rows of that version were rewritten by a migration, so this one was written by a process of an older version that still ran after it`
        : `it was written by a newer version of the code`;
    super(
      `${event.eventType} ${event.eventId} (stream ${event.streamType} ${event.streamId}, version ${event.streamVersion}) is stored at schema version ` +
        `${storedVersion}${after}, and this code reads ${event.eventType} only at v${currentVersion}: ${cause}`,
    );
    this.name = 'UnreadableEventVersionError';
  }
}

/**
 * Every reader of the store (subscriptions, the relay, rebuilds) passes events through here, so
 * code downstream only ever sees each event's current shape; chains of upcasters run in order.
 * For an event type whose current version is declared (currentVersions: every module's event
 * classes, see EventStoreManifests), an event that does not end at that version is refused with
 * UnreadableEventVersionError instead of being passed on in a shape the code does not expect.
 */
@Injectable()
export class EventUpcasters {
  private readonly byVersion = new Map<string, EventUpcaster>();
  private readonly current = new Map<string, number>();

  register(...upcasters: readonly EventUpcaster[]): void {
    for (const upcaster of upcasters) {
      const key = keyOf(upcaster.eventType, upcaster.fromVersion);
      if (this.byVersion.has(key)) throw new Error(`two upcasters for ${upcaster.eventType} v${upcaster.fromVersion}`);
      const current = this.current.get(upcaster.eventType);
      if (current !== undefined && upcaster.fromVersion >= current) throw new Error(`an upcaster from ${upcaster.eventType} v${upcaster.fromVersion}, which is written at v${current}`);
      this.byVersion.set(key, upcaster);
    }
  }

  /** The schema version each event type is written at now (`schemaVersion` of its class, 1 by default): what every read must end at. */
  registerCurrentVersions(...eventClasses: ReadonlyArray<{ readonly type: string; readonly schemaVersion?: number }>): void {
    for (const { type, schemaVersion = 1 } of eventClasses) {
      if (this.current.has(type)) throw new Error(`two current versions of ${type}`);
      const beyond = [...this.byVersion.values()].find((upcaster) => upcaster.eventType === type && upcaster.fromVersion >= schemaVersion);
      if (beyond) throw new Error(`an upcaster from ${type} v${beyond.fromVersion}, which is written at v${schemaVersion}`);
      this.current.set(type, schemaVersion);
    }
  }

  upcast<T extends StoredEvent>(event: T): T {
    let current = event;
    for (;;) {
      const upcaster = this.byVersion.get(keyOf(current.eventType, current.schemaVersion));
      if (!upcaster) break;
      current = { ...current, schemaVersion: current.schemaVersion + 1, payload: upcaster.upcast(current.payload) };
    }
    const expected = this.current.get(current.eventType);
    if (expected !== undefined && current.schemaVersion !== expected) throw new UnreadableEventVersionError(event, current.schemaVersion, expected);
    return current;
  }

  upcastAll<T extends StoredEvent>(events: T[]): T[] {
    return this.byVersion.size === 0 && this.current.size === 0 ? events : events.map((event) => this.upcast(event));
  }
}

function keyOf(eventType: string, version: number): string {
  return `${eventType}@${version}`;
}
