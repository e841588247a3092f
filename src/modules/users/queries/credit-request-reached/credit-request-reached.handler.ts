import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { DurableReactions } from '../../../../event-store';
import { ORDER_CREDIT_REACTION_ID } from '../../sagas/order-credit.saga';
import { CreditRequestReachedQuery } from './credit-request-reached.query';

@QueryHandler(CreditRequestReachedQuery)
export class CreditRequestReachedHandler implements IQueryHandler<CreditRequestReachedQuery> {
  constructor(private readonly reactions: DurableReactions) {}

  execute({ orderPlacedEventId }: CreditRequestReachedQuery): Promise<boolean> {
    return this.reactions.hasReached(`reaction:${ORDER_CREDIT_REACTION_ID}`, orderPlacedEventId);
  }
}
