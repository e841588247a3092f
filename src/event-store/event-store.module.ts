import { Module } from '@nestjs/common';
import { AggregateWriter } from './aggregate-writer';
import { EventAppendedSignal } from './event-appended-signal';
import { EventStreamReader } from './event-stream.reader';
import { StreamsController } from './http/streams.controller';
import { EventSubscriptions } from './subscription/event-subscriptions';

@Module({
  controllers: [StreamsController],
  providers: [AggregateWriter, EventAppendedSignal, EventStreamReader, EventSubscriptions],
  exports: [AggregateWriter, EventAppendedSignal, EventStreamReader, EventSubscriptions],
})
export class EventStoreModule {}
