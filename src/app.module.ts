import { DynamicModule, Module, Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AdmissionModule } from './admission/admission.module';
import { AccessModule } from './auth/access.module';
import type { AuthenticationSettings } from './auth/authentication-settings';
import { Environment } from './config/environment';
import { DatabaseModule } from './database/database.module';
import { EventStoreModule } from './event-store/event-store.module';
import { HealthModule } from './health/health.module';
import { IdempotencyInterceptor } from './http/idempotency/idempotency.interceptor';
import { MessagingModule } from './messaging/messaging.module';
import { OrdersModule } from './modules/orders';
import { UsersModule } from './modules/users';
import { SharedModule } from './shared/shared.module';

@Module({})
export class AppModule {
  /** `environment` is validated already (see loadEnvironment), so every module reads typed values. */
  static forRoot(environment: Environment, extraModules: Type[], authentication: AuthenticationSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => environment] }),
        CqrsModule.forRoot(),
        SharedModule,
        DatabaseModule,
        EventStoreModule,
        MessagingModule,
        HealthModule,
        AdmissionModule,
        AccessModule.forRoot({ authentication, rateLimitPerMinute: environment.RATE_LIMIT_PER_MINUTE }),
        UsersModule,
        OrdersModule,
        ...extraModules,
      ],
      providers: [{ provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor }],
    };
  }
}
