import { Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Environment } from '../config/environment';
import { DatabaseNotifications } from '../database/database-notifications';
import { AggregateWriter } from './aggregate-writer';
import { AppendedEventMetrics } from './appended-event-metrics';
import { AppendedOnCommit } from './appended-on-commit';
import { EventAppendedSignal } from './event-appended-signal';
import { EventStreamReader } from './event-stream.reader';
import { EventStoreManifests } from './manifest/event-store-manifests';
import { RunningCommands } from './running-commands';
import { StreamsController } from './http/streams.controller';
import { DomainEventClasses } from './reactions/domain-event-classes';
import { DurableReactions } from './reactions/durable-reactions';
import { ParkedReactionsMetrics } from './reactions/parked-reactions.metrics';
import { EventSequencer } from './sequencing/event-sequencer';
import { EventStoreHead } from './sequencing/event-store-head';
import { EventSubscriptions } from './subscription/event-subscriptions';
import { EventUpcasters } from './upcasting/event-upcasters';
import { SubscriptionLeases } from './segments/subscription-leases';
import { ProcessSubscriptionLeases } from './segments/subscription-leases.provider';

@Module({
  imports: [DiscoveryModule],
  controllers: [StreamsController],
  providers: [
    AggregateWriter,
    AppendedEventMetrics,
    AppendedOnCommit,
    EventAppendedSignal,
    EventStoreHead,
    {
      provide: EventSequencer,
      inject: [getDataSourceToken(), EventStoreHead, EventAppendedSignal, DatabaseNotifications, ConfigService],
      useFactory: (
        dataSource: DataSource,
        head: EventStoreHead,
        appended: EventAppendedSignal,
        notifications: DatabaseNotifications,
        config: ConfigService<Environment, true>,
      ) =>
        new EventSequencer(dataSource, head, appended, notifications, {
          batchSize: config.get('EVENT_SEQUENCER_BATCH_SIZE', { infer: true }),
          safetyPollMs: config.get('EVENT_STORE_SAFETY_POLL_MS', { infer: true }),
          gatherMs: config.get('EVENT_SEQUENCER_GATHER_MS', { infer: true }),
        }),
    },
    EventStreamReader,
    EventSubscriptions,
    { provide: DomainEventClasses, inject: [EventStoreManifests], useFactory: (manifests: EventStoreManifests) => manifests.domainEventClasses() },
    DurableReactions,
    ParkedReactionsMetrics,
    RunningCommands,
    { provide: EventUpcasters, inject: [EventStoreManifests], useFactory: (manifests: EventStoreManifests) => manifests.eventUpcasters() },
    { provide: SubscriptionLeases, useClass: ProcessSubscriptionLeases },
  ],
  exports: [
    SubscriptionLeases,
    AggregateWriter,
    AppendedEventMetrics,
    EventAppendedSignal,
    EventStoreHead,
    EventSequencer,
    EventStreamReader,
    EventSubscriptions,
    DurableReactions,
    DomainEventClasses,
    EventUpcasters,
  ],
})
export class EventStoreModule {}
