import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { migrations } from '../../migrations';
import { Environment } from '../config/environment';
import { DatabaseNotifications } from './database-notifications';
import { pgPoolOptions } from './pool-options';
import { TransactionContext } from './transaction-context';
import { TypeOrmLogger } from './typeorm-logger';

/** One pool for the process; migrations run at start, the schema is never synchronized. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<Environment, true>) => ({
        type: 'postgres',
        url: config.get('DATABASE_URL', { infer: true }),
        autoLoadEntities: true,
        synchronize: false,
        migrations,
        migrationsRun: true,
        migrationsTransactionMode: 'each',
        logging: ['warn', 'migration'],
        logger: new TypeOrmLogger(['warn', 'migration']),
        extra: pgPoolOptions(config.get('DATABASE_POOL_SIZE', { infer: true }), {
          preparedStatements: config.get('DATABASE_PREPARED_STATEMENTS', { infer: true }),
        }),
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
  ],
  exports: [TransactionContext, DatabaseNotifications],
})
export class DatabaseModule {}
