import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { EventStoreModule } from '../../event-store';
import { ConsumeCreditHandler } from './commands/consume-credit/consume-credit.handler';
import { ReleaseCreditHandler } from './commands/release-credit/release-credit.handler';
import { ReserveCreditHandler } from './commands/reserve-credit/reserve-credit.handler';
import { ChangeUserEmailHandler } from './commands/change-user-email/change-user-email.handler';
import { DeactivateUserHandler } from './commands/deactivate-user/deactivate-user.handler';
import { RegisterUserHandler } from './commands/register-user/register-user.handler';
import { UserRepository } from './domain/user.repository';
import { UsersController } from './http/users.controller';
import { TypeOrmUserRepository } from './persistence/typeorm-user.repository';
import { UserRecord } from './persistence/user.record';
import { GetUserHandler } from './queries/get-user/get-user.handler';
import { UserExistsHandler } from './queries/user-exists/user-exists.handler';
import { CreditAnsweredHandler } from './queries/credit-answered/credit-answered.handler';
import { CreditRequestReachedHandler } from './queries/credit-request-reached/credit-request-reached.handler';
import { OrderCreditSaga } from './sagas/order-credit.saga';

/** Its events' facts (classes, contracts, projections) are in users.manifest.ts: the app registers every module's manifest in one place. */
@Module({
  imports: [TypeOrmModule.forFeature([UserRecord]), EventStoreModule],
  controllers: [UsersController],
  providers: [
    { provide: UserRepository, useClass: TypeOrmUserRepository },
    RegisterUserHandler,
    ChangeUserEmailHandler,
    DeactivateUserHandler,
    ReserveCreditHandler,
    ReleaseCreditHandler,
    ConsumeCreditHandler,
    OrderCreditSaga,
    GetUserHandler,
    UserExistsHandler,
    CreditAnsweredHandler,
    CreditRequestReachedHandler,
  ],
})
export class UsersModule {}
