import { Query } from '@nestjs/cqrs';

/** Whether a user with this id was ever registered. Users are never deleted, so a yes is final. */
export class UserExistsQuery extends Query<boolean> {
  constructor(readonly userId: string) {
    super();
  }
}
