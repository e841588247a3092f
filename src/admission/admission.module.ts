import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store';
import { MessagingModule } from '../messaging/messaging.module';
import { AdmissionControl } from './admission-control';
import { AdmissionMetrics } from './admission.metrics';
import { AsynchronousLag } from './asynchronous-lag';
import { ReaderLagMetrics } from './reader-lag.metrics';

/**
 * Admission control of commands (load shedding); the HTTP hook is `registerAdmissionControl`. The
 * readers' lag it samples is also scraped as metrics (ReaderLagMetrics).
 */
@Module({
  imports: [EventStoreModule, MessagingModule],
  providers: [AsynchronousLag, AdmissionControl, AdmissionMetrics, ReaderLagMetrics],
  exports: [AdmissionControl, AsynchronousLag],
})
export class AdmissionModule {}
