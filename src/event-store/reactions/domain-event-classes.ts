import { Injectable } from '@nestjs/common';
import { DomainEventClass } from '../domain-event';
import type { StoredEvent } from '../stored-event';
import { recordOrigin } from './event-origin';

/**
 * Turns stored events back into instances of their classes. `@nestjs/cqrs` routes an event by
 * metadata it keeps on the event's class (`ofType` uses `instanceof`), so a plain payload read
 * from the store would reach no saga and no handler.
 */
@Injectable()
export class DomainEventClasses {
  private readonly byType = new Map<string, DomainEventClass>();

  register(...classes: DomainEventClass[]): void {
    for (const eventClass of classes) {
      const known = this.byType.get(eventClass.type);
      if (known && known !== eventClass) throw new Error(`two event classes claim the type ${eventClass.type}`);
      this.byType.set(eventClass.type, eventClass);
    }
  }

  /** The event as an instance of its class, or undefined for a type no module's manifest declares. */
  instantiate(stored: StoredEvent): object | undefined {
    const eventClass = this.byType.get(stored.eventType);
    if (!eventClass) return undefined;
    const event: object = Object.assign(Object.create(eventClass.prototype as object) as object, stored.payload);
    recordOrigin(event, stored);
    return event;
  }
}
