import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store';
import { ConsumerEffects } from './consumer-effects';
import { FlowRecords } from './flow-records';
import { FlowPage } from './http/flow-page';
import { FlowsController } from './http/flows.controller';

/** GET /flows/{correlationId}: the journey of one request, as JSON and as a page that draws it. */
@Module({
  imports: [EventStoreModule],
  controllers: [FlowsController],
  providers: [FlowRecords, ConsumerEffects, FlowPage],
})
export class FlowsModule {}
