import { Controller, Get, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction, HealthIndicatorService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../../auth/access.decorators';
import type { FastifyReply } from 'fastify';
import { HEALTH_CHECK_TIMEOUT_MS, HealthChecks } from '../../health/respond-with-health';
import { IntegrationEventServer } from '../messaging/integration-event-server';

/**
 * The consumer's health, in the API's shape (respondWithHealth). Its job is to consume, so it
 * is ready only with its database, a connection to RabbitMQ and a consumer active on its queue:
 * - `/health/live`: the process runs (checks nothing);
 * - `/health/ready`: `postgres`, `rabbitmq` and `consumer`; 503 when one is down;
 * - `/health`: the same, plus `deadLetters` (messages parked in the dead-letter queue: a figure,
 *   never a failure; `degraded` when it cannot be read).
 */
@ApiTags('health')
@Public()
@Controller('health')
export class ConsumerHealthController {
  private readonly details: HealthChecks;
  private readonly liveness: HealthChecks;
  private readonly readiness: HealthChecks;

  constructor(
    health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicator: HealthIndicatorService,
    private readonly server: IntegrationEventServer,
  ) {
    this.details = new HealthChecks(health, [...this.readinessIndicators(), () => this.deadLetters()]);
    this.liveness = new HealthChecks(health, []);
    this.readiness = new HealthChecks(health, this.readinessIndicators());
  }

  @Get()
  check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.details.respond(reply);
  }

  @Get('live')
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.liveness.respond(reply);
  }

  @Get('ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.readiness.respond(reply);
  }

  private readinessIndicators(): HealthIndicatorFunction[] {
    return [
      () => this.database.pingCheck('postgres', { timeout: HEALTH_CHECK_TIMEOUT_MS }),
      () => {
        const session = this.indicator.check('rabbitmq');
        return this.server.isConnected() ? session.up() : session.down({ message: 'not connected to RabbitMQ' });
      },
      () => {
        const session = this.indicator.check('consumer');
        const state = this.server.state();
        return state.consuming ? session.up() : session.down({ message: `not consuming: ${state.reason}` });
      },
    ];
  }

  private async deadLetters() {
    const session = this.indicator.check('deadLetters');
    try {
      return session.up({ messages: await this.server.deadLetterDepth() });
    } catch (error) {
      return session.degraded({ message: `cannot read the dead-letter queue: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
