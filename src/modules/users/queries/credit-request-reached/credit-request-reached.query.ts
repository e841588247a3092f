import { Query } from '@nestjs/cqrs';

/**
 * Whether the Users module has come to the credit asked for by an order: its credit reaction
 * (`reaction:order-credit`) took the order's OrderPlaced, or is working at it now (its step may be
 * failing and retried, or wait behind the customer's earlier event). False while that reaction is
 * paused or lags behind the event.
 */
export class CreditRequestReachedQuery extends Query<boolean> {
  constructor(
    /** The id of the stored OrderPlaced that asks for the credit. */
    readonly orderPlacedEventId: string,
  ) {
    super();
  }
}
