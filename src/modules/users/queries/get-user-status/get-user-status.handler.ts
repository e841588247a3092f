import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TransactionContext } from '../../../../database/transaction-context';
import type { UserStatus } from '../../domain/user';
import { UserRecord } from '../../persistence/user.record';
import { GetUserStatusQuery } from './get-user-status.query';

@QueryHandler(GetUserStatusQuery)
export class GetUserStatusHandler implements IQueryHandler<GetUserStatusQuery> {
  constructor(
    @InjectRepository(UserRecord) private readonly users: Repository<UserRecord>,
    private readonly transactions: TransactionContext,
  ) {}

  async execute({ userId }: GetUserStatusQuery): Promise<UserStatus | null> {
    const user = await this.transactions.repository(this.users).findOne({ select: { status: true }, where: { id: userId } });
    return user?.status ?? null;
  }
}
