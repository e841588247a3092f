import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AggregateWriter } from './aggregate-writer';
import { EventAppendedSignal } from './event-appended-signal';
import { EventStreamReader } from './event-stream.reader';
import { StreamsController } from './http/streams.controller';
import { DomainEventClasses } from './reactions/domain-event-classes';
import { DurableReactions } from './reactions/durable-reactions';
import { EventSubscriptions } from './subscription/event-subscriptions';
import { EventUpcasters } from './upcasting/event-upcasters';

@Module({
  imports: [DiscoveryModule],
  controllers: [StreamsController],
  providers: [AggregateWriter, EventAppendedSignal, EventStreamReader, EventSubscriptions, DomainEventClasses, DurableReactions, EventUpcasters],
  exports: [AggregateWriter, EventAppendedSignal, EventStreamReader, EventSubscriptions, DomainEventClasses, EventUpcasters],
})
export class EventStoreModule {}
