import { Controller, Get, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { respondWithHealth } from './respond-with-health';
import { BrokerHealthIndicator } from './broker-health.indicator';
import { DependencyHealth, HealthResponse } from './health.response';
import { ReactionsHealthIndicator } from './reactions-health.indicator';
import { SubscriptionsHealthIndicator } from './subscriptions-health.indicator';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly broker: BrokerHealthIndicator,
    private readonly reactions: ReactionsHealthIndicator,
    private readonly subscriptions: SubscriptionsHealthIndicator,
  ) {}

  @Get()
  @ApiExtraModels(DependencyHealth)
  @ApiOkResponse({ type: HealthResponse, description: 'Every dependency is reachable' })
  @ApiServiceUnavailableResponse({ type: HealthResponse, description: 'A dependency is down, or a reader of the event store is stopped at an event; `details` says which' })
  check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return respondWithHealth(this.health, reply, [
      () => this.database.pingCheck('postgres', { timeout: 2000 }),
      () => this.broker.rabbitmq(),
      () => this.broker.relay(),
      () => this.reactions.reactions(),
      () => this.subscriptions.subscriptions(),
    ]);
  }
}
