import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store/event-store.module';
import { MessagingModule } from '../messaging/messaging.module';
import { AdmissionControl } from './admission-control';
import { AsynchronousLag } from './asynchronous-lag';

/** Admission control of commands (load shedding); the HTTP hook is `registerAdmissionControl`. */
@Module({
  imports: [EventStoreModule, MessagingModule],
  providers: [AsynchronousLag, AdmissionControl],
  exports: [AdmissionControl, AsynchronousLag],
})
export class AdmissionModule {}
