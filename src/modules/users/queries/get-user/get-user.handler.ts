import { IQueryHandler, QueryHandler } from '@nestjs/cqrs';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { UserNotFoundError } from '../../domain/user.errors';
import { UserRecord } from '../../persistence/user.record';
import { GetUserQuery } from './get-user.query';
import { UserView } from './user.view';

/**
 * Reads the user's own row: it is written in the same statement as the user's events, so a GET
 * right after a 201 or 204 shows what that command did (read-your-writes). No projection of users
 * exists: a single user's view is the row itself, and a copy of it built after the commit could
 * only trail it (a list of users, which the row cannot serve, would be what earns one).
 */
@QueryHandler(GetUserQuery)
export class GetUserHandler implements IQueryHandler<GetUserQuery> {
  constructor(@InjectRepository(UserRecord) private readonly users: Repository<UserRecord>) {}

  async execute({ userId }: GetUserQuery): Promise<UserView> {
    const user = await this.users.findOneBy({ id: userId });
    if (!user) throw new UserNotFoundError(userId);
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      status: user.status,
      creditLimit: user.creditLimit,
      creditReserved: user.creditReserved,
      version: user.version,
      registeredAt: user.createdAt.toISOString(),
      updatedAt: user.updatedAt.toISOString(),
    };
  }
}
