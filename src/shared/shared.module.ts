import { Global, Module } from '@nestjs/common';
import { Clock, IdGenerator, RandomUuidGenerator, SystemClock } from './clock';

@Global()
@Module({
  providers: [
    { provide: Clock, useClass: SystemClock },
    { provide: IdGenerator, useClass: RandomUuidGenerator },
  ],
  exports: [Clock, IdGenerator],
})
export class SharedModule {}
