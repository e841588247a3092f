import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Environment } from '../config/environment';
import { EventStoreModule } from '../event-store';
import { brokerTopology } from '../messaging/broker-topology';
import { DeadLetterQueue } from '../messaging/dead-letters/dead-letter-queue';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { ParkedReactionsController } from './parked-reactions/parked-reactions.controller';
import { ProjectionRebuildJobs } from './projections/projection-rebuild-jobs';
import { ProjectionsController } from './projections/projections.controller';
import { StreamsRepublishController } from './streams/streams-republish.controller';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';

/**
 * The admin API (`/admin/...`, scope `admin`): over HTTP what operators do with the CLIs, through
 * the same functions. Each controller says which CLI it stands for.
 */
@Module({
  imports: [EventStoreModule],
  controllers: [SubscriptionsController, ParkedReactionsController, DeadLettersController, ProjectionsController, StreamsRepublishController],
  providers: [
    {
      provide: DeadLetterQueue,
      inject: [ConfigService],
      useFactory: (config: ConfigService<Environment, true>) =>
        new DeadLetterQueue({
          url: config.get('RABBITMQ_URL', { infer: true }),
          topology: brokerTopology(config.get('BROKER_PREFIX', { infer: true }), config.get('CONSUMER_RETRY_DELAYS_MS', { infer: true })),
        }),
    },
    ProjectionRebuildJobs,
  ],
})
export class AdminModule {}
