import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { BrokerHealthIndicator } from './broker-health.indicator';
import { HealthController } from './health.controller';
import { ReactionsHealthIndicator } from './reactions-health.indicator';
import { SubscriptionsHealthIndicator } from './subscriptions-health.indicator';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [BrokerHealthIndicator, ReactionsHealthIndicator, SubscriptionsHealthIndicator],
})
export class HealthModule {}
