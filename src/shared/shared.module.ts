import { Global, Module } from '@nestjs/common';
import { AfterListening } from './after-listening';
import { Clock, IdGenerator, RandomUuidGenerator, SystemClock } from './clock';

@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    { provide: IdGenerator, useClass: RandomUuidGenerator },
    AfterListening,
  ],
  exports: [Clock, IdGenerator, AfterListening],
})
export class SharedModule {}
