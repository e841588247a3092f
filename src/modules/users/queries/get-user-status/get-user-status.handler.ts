import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { UserStatus } from '../../domain/user';
import { UserRecord } from '../../persistence/user.record';
import { GetUserStatusQuery } from './get-user-status.query';

@QueryHandler(GetUserStatusQuery)
export class GetUserStatusHandler implements IQueryHandler<GetUserStatusQuery> {
  constructor(@InjectRepository(UserRecord) private readonly users: Repository<UserRecord>) {}

  async execute({ userId }: GetUserStatusQuery): Promise<UserStatus | null> {
    const user = await this.users.findOne({ select: { status: true }, where: { id: userId } });
    return user?.status ?? null;
  }
}
