import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { UserNotFoundError } from '../../domain/user.errors';
import { UserProfileRecord } from '../../projections/user-profile.record';
import { GetUserQuery } from './get-user.query';
import { UserView } from './user.view';

@QueryHandler(GetUserQuery)
export class GetUserHandler implements IQueryHandler<GetUserQuery> {
  constructor(@InjectRepository(UserProfileRecord) private readonly profiles: Repository<UserProfileRecord>) {}

  async execute({ userId }: GetUserQuery): Promise<UserView> {
    const profile = await this.profiles.findOneBy({ id: userId });
    if (!profile) throw new UserNotFoundError(userId);
    return {
      ...profile,
      registeredAt: profile.registeredAt.toISOString(),
      updatedAt: profile.updatedAt.toISOString(),
    };
  }
}
