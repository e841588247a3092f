import { Injectable } from '@nestjs/common';
import type { StoredEvent } from '../stored-event';

/**
 * Turns the payload of `eventType` at schema version `fromVersion` into version `fromVersion + 1`.
 * A pure function of the old payload: events are history and are never rewritten in the store.
 */
export interface EventUpcaster<TType extends string = string> {
  readonly eventType: TType;
  readonly fromVersion: number;
  upcast(payload: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Every reader of the store (subscriptions, the relay, rebuilds) passes events through here, so
 * code downstream only ever sees each event's current shape; chains of upcasters run in order.
 */
@Injectable()
export class EventUpcasters {
  private readonly byVersion = new Map<string, EventUpcaster>();

  register(...upcasters: readonly EventUpcaster[]): void {
    for (const upcaster of upcasters) {
      const key = keyOf(upcaster.eventType, upcaster.fromVersion);
      if (this.byVersion.has(key)) throw new Error(`two upcasters for ${upcaster.eventType} v${upcaster.fromVersion}`);
      this.byVersion.set(key, upcaster);
    }
  }

  upcast<T extends StoredEvent>(event: T): T {
    let current = event;
    for (;;) {
      const upcaster = this.byVersion.get(keyOf(current.eventType, current.schemaVersion));
      if (!upcaster) return current;
      current = { ...current, schemaVersion: current.schemaVersion + 1, payload: upcaster.upcast(current.payload) };
    }
  }

  upcastAll<T extends StoredEvent>(events: T[]): T[] {
    return this.byVersion.size === 0 ? events : events.map((event) => this.upcast(event));
  }
}

function keyOf(eventType: string, version: number): string {
  return `${eventType}@${version}`;
}
