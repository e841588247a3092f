import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventStoreModule } from '../../event-store/event-store.module';
import { DomainEventClasses } from '../../event-store/reactions/domain-event-classes';
import { ConsumeCreditHandler } from './commands/consume-credit/consume-credit.handler';
import { ReleaseCreditHandler } from './commands/release-credit/release-credit.handler';
import { ReserveCreditHandler } from './commands/reserve-credit/reserve-credit.handler';
import { ChangeUserEmailHandler } from './commands/change-user-email/change-user-email.handler';
import { DeactivateUserHandler } from './commands/deactivate-user/deactivate-user.handler';
import { RegisterUserHandler } from './commands/register-user/register-user.handler';
import { USER_EVENT_CLASSES } from './domain/user.events';
import { UserRepository } from './domain/user.repository';
import { UsersController } from './http/users.controller';
import { UserIntegrationEvents } from './integration/user-integration-events';
import { TypeOrmUserRepository } from './persistence/typeorm-user.repository';
import { UserRecord } from './persistence/user.record';
import { UserProfileProjector } from './projections/user-profile.projector';
import { UserProfileRecord } from './projections/user-profile.record';
import { GetUserHandler } from './queries/get-user/get-user.handler';
import { UserExistsHandler } from './queries/user-exists/user-exists.handler';

@Module({
  imports: [TypeOrmModule.forFeature([UserRecord, UserProfileRecord]), EventStoreModule],
  controllers: [UsersController],
  providers: [
    { provide: UserRepository, useClass: TypeOrmUserRepository },
    RegisterUserHandler,
    ChangeUserEmailHandler,
    DeactivateUserHandler,
    ReserveCreditHandler,
    ReleaseCreditHandler,
    ConsumeCreditHandler,
    GetUserHandler,
    UserExistsHandler,
    UserProfileProjector,
    UserIntegrationEvents,
  ],
})
export class UsersModule implements OnModuleInit {
  constructor(private readonly eventClasses: DomainEventClasses) {}

  onModuleInit(): void {
    this.eventClasses.register(...USER_EVENT_CLASSES);
  }
}
