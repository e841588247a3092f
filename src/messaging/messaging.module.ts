import { Global, Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store';
import { IntegrationEventMappers } from './integration-event-mappers';
import { IntegrationEventPublisher } from './integration-event-publisher';
import { OutboxRelay } from './relay/outbox-relay';
import { RelayMetrics } from './relay/relay.metrics';
import { RelayBatchRetention } from './relay/relay-batch-retention';

/** Integration events out of the API: the mappers (from the modules' manifests), the relay, the publisher. */
@Global()
@Module({
  imports: [EventStoreModule],
  providers: [IntegrationEventMappers, IntegrationEventPublisher, OutboxRelay, RelayMetrics, RelayBatchRetention],
  exports: [IntegrationEventMappers, IntegrationEventPublisher, OutboxRelay],
})
export class MessagingModule {}
