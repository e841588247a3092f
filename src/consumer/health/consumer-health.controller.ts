import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '../../auth/access.decorators';
import { HealthCheckResult, HealthCheckService, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { respondWithHealth } from '../../health/respond-with-health';
import { IntegrationEventServer } from '../messaging/integration-event-server';

@ApiTags('health')
@Public()
@Controller('health')
export class ConsumerHealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicator: HealthIndicatorService,
    private readonly server: IntegrationEventServer,
  ) {}

  @Get()
  check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return respondWithHealth(this.health, reply, [
      () => this.database.pingCheck('postgres', { timeout: 2000 }),
      () => {
        const session = this.indicator.check('rabbitmq');
        return this.server.isConnected() ? session.up() : session.down({ message: 'not connected to RabbitMQ' });
      },
      () => {
        const session = this.indicator.check('consumer');
        const state = this.server.state();
        return state.consuming ? session.up() : session.down({ message: `not consuming: ${state.reason}` });
      },
    ]);
  }
}
