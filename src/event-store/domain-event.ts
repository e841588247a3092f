/**
 * The base of every domain event class. An event is declared by its fields and its stored type,
 * each once:
 *
 * ```ts
 * export class OrderShippedEvent extends DomainEvent<{ orderId: string; shippedAt: string }> {
 *   static readonly type = 'OrderShipped';
 * }
 * new OrderShippedEvent({ orderId, shippedAt }).orderId; // the props become the event's own fields
 * ```
 *
 * The props are copied in the order the caller passes them: that order is the payload's key
 * order in memory (the `events` column is jsonb, which stores keys in its own order).
 */
export const DomainEvent = class DomainEvent {
  constructor(props: object) {
    Object.assign(this, props);
  }
} as new <TProps extends object>(props: TProps) => Readonly<TProps>;

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
