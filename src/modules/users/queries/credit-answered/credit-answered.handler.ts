import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { UserRepository } from '../../domain/user.repository';
import { CreditAnsweredQuery } from './credit-answered.query';

@QueryHandler(CreditAnsweredQuery)
export class CreditAnsweredHandler implements IQueryHandler<CreditAnsweredQuery> {
  constructor(private readonly users: UserRepository) {}

  execute({ userId, orderId }: CreditAnsweredQuery): Promise<boolean> {
    return this.users.creditAnswerRecorded(userId, orderId);
  }
}
