import { Global, Module } from '@nestjs/common';
import { AfterListening } from './after-listening';
import { Clock, IdGenerator, TimeOrderedUuidGenerator, SystemClock } from './clock';

@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    { provide: IdGenerator, useClass: TimeOrderedUuidGenerator },
    AfterListening,
  ],
  exports: [Clock, IdGenerator, AfterListening],
})
export class SharedModule {}
