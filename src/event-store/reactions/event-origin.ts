import type { CommandMetadata } from '../event-metadata';
import type { StoredEvent } from '../stored-event';

const origins = new WeakMap<object, StoredEvent>();

/** Remembers which stored event an event instance was read from. */
export function recordOrigin(event: object, stored: StoredEvent): void {
  origins.set(event, stored);
}

export function originOf(event: object): StoredEvent | undefined {
  return origins.get(event);
}

/**
 * The cause of the commands a reaction step sends for the stored event: the same correlation id,
 * and the event's id as causation id, so the audit trail links every saga step to its cause.
 */
export function causeOf(stored: Pick<StoredEvent, 'eventId' | 'metadata'>): CommandMetadata {
  return { correlationId: stored.metadata.correlationId, causationId: stored.eventId };
}
