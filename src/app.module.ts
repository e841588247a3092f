import { DynamicModule, Module, Type } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AdminModule } from './admin/admin.module';
import { AdmissionModule } from './admission/admission.module';
import { AsyncApiModule } from './asyncapi/asyncapi.module';
import { AccessModule } from './auth/access.module';
import type { AuthenticationSettings } from './auth/authentication-settings';
import { Environment } from './config/environment';
import { DatabaseModule } from './database/database.module';
import { EventStoreManifestsModule, EventStoreModule, RequestCauseInterceptor } from './event-store';
import { FlowsModule } from './flows/flows.module';
import { HealthModule } from './health/health.module';
import { IdempotencyKeyRetention } from './http/idempotency/idempotency-key-retention';
import { IdempotencyInterceptor } from './http/idempotency/idempotency.interceptor';
import { loggingModule } from './logging/process-logger';
import { MessagingModule } from './messaging/messaging.module';
import { CommandMetrics } from './metrics/command-metrics';
import { MetricsModule } from './metrics/metrics.module';
import { EVENT_STORE_MANIFESTS } from './modules/manifests';
import { OrdersModule } from './modules/orders';
import { UsersModule } from './modules/users';
import { SharedModule } from './shared/shared.module';
import { TracingModule } from './tracing/tracing.module';

@Module({})
export class AppModule {
  /** `environment` is validated already (see loadEnvironment), so every module reads typed values. */
  static forRoot(environment: Environment, extraModules: Type[], authentication: AuthenticationSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => environment] }),
        loggingModule('api', environment),
        CqrsModule.forRoot(),
        SharedModule,
        MetricsModule,
        DatabaseModule.forRoot(environment),
        EventStoreManifestsModule.forRoot(EVENT_STORE_MANIFESTS),
        EventStoreModule,
        MessagingModule,
        HealthModule,
        AdmissionModule,
        AccessModule.forRoot({ authentication, rateLimitPerMinute: environment.RATE_LIMIT_PER_MINUTE }),
        UsersModule,
        OrdersModule,
        AdminModule,
        AsyncApiModule,
        FlowsModule,
        TracingModule,
        ...extraModules,
      ],
      providers: [
        { provide: APP_INTERCEPTOR, useClass: RequestCauseInterceptor },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        IdempotencyKeyRetention,
        CommandMetrics,
      ],
    };
  }
}
