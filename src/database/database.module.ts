import { type DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../config/environment';
import { API_SCHEMA } from './api-schema';
import { apiConnectionDemand } from './capacity/api-connection-demand';
import { ConnectionBudgetCheck } from './capacity/connection-budget-check';
import { DatabaseNotifications } from './database-notifications';
import { migratedDataSourceFactory, retriesAfter } from './migration-lock';
import { processLabel } from './lease-session';
import { pgPoolOptions } from './pool-options';
import { TransactionContext } from './transaction-context';
import { TypeOrmLogger } from './typeorm-logger';

/**
 * One pool for the process; migrations run at start, one process of the database at a time (the
 * migration lock), unless DATABASE_MIGRATIONS=check (then main.ts has checked that none is pending:
 * prepareDatabaseAtStart); the schema is never synchronized; the pool and the process's own
 * sessions are checked against the server's max_connections at start.
 */
@Global()
@Module({})
export class DatabaseModule {
  /**
   * `environment` says whether the start runs the migrations (DATABASE_MIGRATIONS), how long it
   * waits for another process's migration run (MIGRATION_LOCK_WAIT_MS), and for an answer on the
   * migration lock's session (DATABASE_STATEMENT_REPLY_TIMEOUT_MS).
   */
  static forRoot(environment: Pick<Environment, 'DATABASE_MIGRATIONS' | 'MIGRATION_LOCK_WAIT_MS' | 'DATABASE_STATEMENT_REPLY_TIMEOUT_MS'>): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [ConfigService],
          useFactory: (config: ConfigService<Environment, true>) => ({
            type: 'postgres',
            url: config.get('DATABASE_URL', { infer: true }),
            // A new connection to a server that vanished (or that accepts and never answers) fails
            // within the statement reply timeout instead of hanging the request that needs it; so
            // does a wait for a free pool connection (pg-pool bounds both with one setting).
            connectTimeoutMS: config.get('DATABASE_STATEMENT_REPLY_TIMEOUT_MS', { infer: true }) || undefined,
            autoLoadEntities: true,
            synchronize: false,
            migrations: [...API_SCHEMA.migrations],
            // Run by the dataSourceFactory, under the migration lock.
            migrationsRun: false,
            migrationsTransactionMode: 'each',
            logging: ['warn', 'migration'],
            logger: new TypeOrmLogger(['warn', 'migration']),
            extra: pgPoolOptions(config.get('DATABASE_POOL_SIZE', { infer: true }), {
              preparedStatements: config.get('DATABASE_PREPARED_STATEMENTS', { infer: true }),
              idleInTransactionTimeoutMs: config.get('DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', { infer: true }),
              applicationName: `api ${processLabel()}`,
              statementReplyTimeoutMs: config.get('DATABASE_STATEMENT_REPLY_TIMEOUT_MS', { infer: true }),
            }),
            toRetry: retriesAfter,
          }),
          dataSourceFactory: migratedDataSourceFactory({
            migrations: environment.DATABASE_MIGRATIONS,
            lock: API_SCHEMA.lock,
            waitMs: environment.MIGRATION_LOCK_WAIT_MS,
            replyTimeoutMs: environment.DATABASE_STATEMENT_REPLY_TIMEOUT_MS,
          }),
        }),
      ],
      providers: [
        TransactionContext,
        {
          provide: DatabaseNotifications,
          inject: [ConfigService],
          useFactory: (config: ConfigService<Environment, true>) => new DatabaseNotifications(config.get('DATABASE_URL', { infer: true })),
        },
        {
          provide: ConnectionBudgetCheck,
          inject: [DataSource, ConfigService],
          useFactory: (dataSource: DataSource, config: ConfigService<Environment, true>) =>
            new ConnectionBudgetCheck(
              dataSource,
              apiConnectionDemand({ DATABASE_POOL_SIZE: config.get('DATABASE_POOL_SIZE', { infer: true }), RELAY_ENABLED: config.get('RELAY_ENABLED', { infer: true }) }),
            ),
        },
      ],
      exports: [TransactionContext, DatabaseNotifications],
    };
  }
}
