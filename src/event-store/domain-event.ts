/**
 * A domain event class names its stored type once (`static readonly type = 'OrderPlaced'`) so the
 * name in the store never depends on a class name a refactoring might change.
 */
export interface DomainEventClass<TType extends string = string, TEvent extends object = object> {
  readonly type: TType;
  readonly schemaVersion?: number;
  new (...args: never[]): TEvent;
}

export function eventTypeOf(event: object): string {
  const type = (event.constructor as Partial<DomainEventClass>).type;
  if (!type) throw new Error(`${event.constructor.name} has no static 'type'`);
  return type;
}

export function schemaVersionOf(event: object): number {
  return (event.constructor as Partial<DomainEventClass>).schemaVersion ?? 1;
}

/** The payload stored for an event: its own enumerable fields, nothing else. */
export function payloadOf(event: object): Record<string, unknown> {
  return { ...event } as Record<string, unknown>;
}
