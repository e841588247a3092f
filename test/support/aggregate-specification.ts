import type { VersionedAggregate } from '../../src/event-store/versioned-aggregate';

/** An aggregate this specification can drive: a VersionedAggregate whose state reads as a row. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any event union: Order's, User's
export type Aggregate = VersionedAggregate<any> & { snapshot(): object };
type EventOf<TAggregate> = TAggregate extends VersionedAggregate<infer TEvent> ? TEvent : never;
type SnapshotOf<TAggregate extends Aggregate> = ReturnType<TAggregate['snapshot']>;

type ErrorClass = abstract new (...args: never[]) => Error;

/** What a command left behind, for the checks past its events. */
export interface Outcome<TAggregate extends Aggregate> {
  aggregate: TAggregate;
  /** What the command returned (Order.settleReservedCredit's settlement); an aggregate it returned is `aggregate`. */
  returned: unknown;
  /** The state reached: `snapshot()` matches `expected` (toMatchObject). */
  withState(expected: Partial<SnapshotOf<TAggregate>>): Outcome<TAggregate>;
  /** The command returned `expected` (toEqual). */
  returning(expected: unknown): Outcome<TAggregate>;
}

/**
 * Given / when / then over events for one aggregate class, after emmett's DeciderSpecification:
 *
 * ```ts
 * const orders = AggregateSpecification.for({ blank: () => new Order(), restore: Order.restore });
 * orders.given(placed).when((order) => order.confirm(later)).then(confirmed).withState({ status: 'CONFIRMED' });
 * orders.given(placed, rejected).when((order) => order.ship(later)).thenThrows(OrderCannotBeShippedError, { code: 'ORDER_NOT_SHIPPABLE' });
 * orders.given().when(() => Order.place(placement, now)).then(placed);
 * ```
 *
 * - `given(...events)`: the aggregate those events made, loaded the way the repository loads it:
 *   the events are applied to `blank()` (its `on<Event>` handlers build the state) and the row
 *   that state is saved as (`snapshot()`, version = the number of events) goes through `restore`,
 *   so the command starts at that version with nothing pending. With no events the command gets
 *   the blank aggregate, which only a creation (`Order.place`) may use: it returns the new
 *   aggregate, which is then the one examined.
 * - `then(...events)`: exactly these new events, in order, each of its class with every field
 *   equal (toStrictEqual). Times in them are the `now` the test passed the command: nothing is
 *   matched loosely.
 * - `thenNothingHappened()`: no new event, and `snapshot()` equal to the loaded one.
 * - `thenThrows(ErrorClass, fields?)`: the command throws an ErrorClass carrying `fields`
 *   (e.g. `{ code: 'ORDER_NOT_PENDING' }`), having raised no event and changed no state.
 *
 * Every check fails the test through jest's `expect`. What `when` returns has a `then` method, so
 * it is a thenable: never `await` it (the checks run synchronously anyway).
 */
export class AggregateSpecification<TAggregate extends Aggregate> {
  private constructor(
    private readonly blank: () => TAggregate,
    private readonly restore: (snapshot: SnapshotOf<TAggregate>, recorded: TAggregate) => TAggregate,
  ) {}

  static for<TAggregate extends Aggregate>(aggregate: {
    /** An aggregate with no state yet, for the given events to build. */
    blank: () => TAggregate;
    /**
     * How the repository loads the aggregate from its row; `recorded` is the aggregate the events
     * built, for what the repository loads beside the row (a user's credit reservations).
     */
    restore: (snapshot: SnapshotOf<TAggregate>, recorded: TAggregate) => TAggregate;
  }): AggregateSpecification<TAggregate> {
    return new AggregateSpecification(aggregate.blank, aggregate.restore);
  }

  /** The aggregate `history` made, as loaded from its row; `history[0]` is its creation. */
  given(...history: EventOf<TAggregate>[]) {
    return {
      when: (command: (aggregate: TAggregate) => unknown) => this.run(history, command),
    };
  }

  /** The aggregate `history` made, loaded from its row: version `history.length`, nothing pending. */
  load(...history: EventOf<TAggregate>[]): TAggregate {
    const recorded = this.blank();
    for (const event of history) recorded.apply(event);
    return this.restore(recorded.snapshot() as SnapshotOf<TAggregate>, recorded);
  }

  private run(history: EventOf<TAggregate>[], command: (aggregate: TAggregate) => unknown) {
    const loaded = history.length === 0 ? this.blank() : this.load(...history);
    // A blank aggregate has no state to read: nothing to compare a refusal's state against.
    const before: object | undefined = history.length === 0 ? undefined : loaded.snapshot();
    const outcome = (returned: unknown): Outcome<TAggregate> => {
      const aggregate = returned instanceof loaded.constructor ? (returned as TAggregate) : loaded;
      const self: Outcome<TAggregate> = {
        aggregate,
        returned,
        withState: (expected) => {
          expect(aggregate.snapshot()).toMatchObject(expected);
          return self;
        },
        returning: (expected) => {
          expect(returned).toEqual(expected);
          return self;
        },
      };
      return self;
    };
    return {
      then: (...expected: EventOf<TAggregate>[]): Outcome<TAggregate> => {
        const result = outcome(command(loaded));
        expect(result.aggregate.getUncommittedEvents()).toStrictEqual(expected);
        return result;
      },
      thenNothingHappened: (): Outcome<TAggregate> => {
        const result = outcome(command(loaded));
        expect(result.aggregate.getUncommittedEvents()).toStrictEqual([]);
        if (before !== undefined) expect(result.aggregate.snapshot()).toStrictEqual(before);
        return result;
      },
      thenThrows: (errorClass: ErrorClass, fields: Record<string, unknown> = {}): void => {
        let thrown: unknown;
        try {
          command(loaded);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(errorClass);
        expect(thrown).toMatchObject(fields);
        expect(loaded.getUncommittedEvents()).toStrictEqual([]);
        if (before !== undefined) expect(loaded.snapshot()).toStrictEqual(before);
      },
    };
  }
}
