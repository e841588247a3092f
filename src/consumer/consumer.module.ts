import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ConnectionBudgetCheck } from '../database/capacity/connection-budget-check';
import { migratedDataSourceFactory, retriesAfter } from '../database/migration-lock';
import { AccessModule } from '../auth/access.module';
import type { AuthenticationSettings } from '../auth/authentication-settings';
import { pgPoolOptions } from '../database/pool-options';
import { processLabel } from '../database/lease-session';
import { TypeOrmLogger } from '../database/typeorm-logger';
import { loggingModule } from '../logging/process-logger';
import type { BrokerTopology } from '../messaging/broker-topology';
import { MetricsModule } from '../metrics/metrics.module';
import { AfterListening } from '../shared/after-listening';
import { TraceExportFlush } from '../tracing/trace-export-flush';
import type { ConsumerEnvironment } from './config/consumer-environment';
import { CONSUMER_SCHEMA } from './consumer-schema';
import { ConsumerHealthController } from './health/consumer-health.controller';
import { Inbox, InboxBatching } from './inbox/inbox';
import { InboxEffectsController } from './inbox/inbox-effects.controller';
import { InboxRetention, InboxRetentionSettings } from './inbox/inbox-retention';
import { InboxTransactions } from './inbox/inbox-transactions';
import { DeadLetterQueueMetrics } from './messaging/dead-letter-queue.metrics';
import { DeliveryHandler, DeliverySettings } from './messaging/delivery-handler';
import { DeliveryMetrics } from './messaging/delivery.metrics';
import { IntegrationEventServer } from './messaging/integration-event-server';
import { CustomerStatsController } from './read-models/customer-stats/customer-stats.controller';
import { CustomerStatsProjection } from './read-models/customer-stats/customer-stats.projection';
import { NotificationsController } from './read-models/notifications/notifications.controller';
import { NotificationsProjection } from './read-models/notifications/notifications.projection';
import { ReadModels } from './read-models/read-model';

/** The consumer app: its own database, the RMQ handler, its read models and their HTTP side. */
@Module({})
export class ConsumerModule {
  static forRoot(
    environment: ConsumerEnvironment,
    topology: BrokerTopology,
    server: IntegrationEventServer,
    authentication: AuthenticationSettings,
  ): DynamicModule {
    return {
      module: ConsumerModule,
      imports: [
        DiscoveryModule,
        loggingModule('consumer', environment),
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres',
            url: environment.CONSUMER_DATABASE_URL,
            synchronize: false,
            migrations: [...CONSUMER_SCHEMA.migrations],
            // Run by the dataSourceFactory, under the migration lock.
            migrationsRun: false,
            // A migration may run outside a transaction (CREATE INDEX CONCURRENTLY), which 'all' refuses.
            migrationsTransactionMode: 'each',
            logging: ['warn', 'migration'],
            logger: new TypeOrmLogger(['warn', 'migration']),
            // A server that accepts but never answers fails a connection attempt instead of hanging
            // it forever; the DeliveryHandler holds and retries the delivery (an infrastructure failure).
            connectTimeoutMS: 10_000,
            extra: pgPoolOptions(environment.DATABASE_POOL_SIZE, {
              preparedStatements: environment.DATABASE_PREPARED_STATEMENTS,
              idleInTransactionTimeoutMs: environment.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
              applicationName: `consumer ${processLabel()}`,
              statementReplyTimeoutMs: environment.DATABASE_STATEMENT_REPLY_TIMEOUT_MS,
            }),
            toRetry: retriesAfter,
          }),
          // DATABASE_MIGRATIONS=check: main.ts has checked that none is pending (prepareDatabaseAtStart).
          dataSourceFactory: migratedDataSourceFactory({
            migrations: environment.DATABASE_MIGRATIONS,
            lock: CONSUMER_SCHEMA.lock,
            waitMs: environment.MIGRATION_LOCK_WAIT_MS,
            replyTimeoutMs: environment.DATABASE_STATEMENT_REPLY_TIMEOUT_MS,
          }),
        }),
        TerminusModule.forRoot({ logger: false }),
        MetricsModule,
        AccessModule.forRoot({ authentication, rateLimitPerMinute: environment.RATE_LIMIT_PER_MINUTE }),
      ],
      controllers: [NotificationsController, CustomerStatsController, InboxEffectsController, ConsumerHealthController],
      providers: [
        AfterListening,
        Inbox,
        InboxTransactions,
        { provide: InboxBatching, useValue: new InboxBatching(environment.CONSUMER_BATCH_GATHER_MS, environment.CONSUMER_BATCH_SIZE) },
        ReadModels,
        // The read models the inbox applies, in this order (each marked @InboxReadModel()).
        NotificationsProjection,
        CustomerStatsProjection,
        DeliveryHandler,
        DeliveryMetrics,
        DeadLetterQueueMetrics,
        { provide: DeliverySettings, useValue: new DeliverySettings(topology, environment.CONSUMER_MAX_ATTEMPTS, server.inFlight) },
        { provide: IntegrationEventServer, useValue: server },
        { provide: InboxRetentionSettings, useValue: new InboxRetentionSettings(environment) },
        InboxRetention,
        {
          provide: ConnectionBudgetCheck,
          inject: [DataSource],
          // The consumer opens no connection outside its pool (no LISTEN, no lease) but the migration
          // lock's session, which is closed before the pool serves anything else.
          useFactory: (dataSource: DataSource) => new ConnectionBudgetCheck(dataSource, { pool: environment.DATABASE_POOL_SIZE, sessions: {} }),
        },
        TraceExportFlush,
      ],
    };
  }
}
