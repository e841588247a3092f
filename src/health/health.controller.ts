import { Controller, Get, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { HEALTH_CHECK_TIMEOUT_MS, HealthChecks } from './respond-with-health';
import { BrokerHealthIndicator } from './broker-health.indicator';
import { DependencyHealth, HealthResponse } from './health.response';
import { ReactionsHealthIndicator } from './reactions-health.indicator';
import { SubscriptionsHealthIndicator } from './subscriptions-health.indicator';

/**
 * Health for orchestrators and operators, in terminus' result shape (`status`, `info`, `error`,
 * `details`), 503 when `status` is `error`:
 * - `/health/live`: the process runs and answers; checks nothing (a liveness probe must not restart
 *   a process for an outage of something else);
 * - `/health/ready`: it can do its job, which for the API needs PostgreSQL only (commands, reads,
 *   the outbox); a load balancer sends it traffic while this is 200;
 * - `/health`: the details for people and dashboards. 503 when PostgreSQL is down or a reader
 *   of the event store is stopped at an event; 200 with `status: "degraded"` when only RabbitMQ is
 *   unreachable or blocking (commands are accepted, their events wait in the outbox) or a figure
 *   could not be read; 200 `ok` otherwise.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly details: HealthChecks;
  private readonly liveness: HealthChecks;
  private readonly readiness: HealthChecks;

  constructor(health: HealthCheckService, database: TypeOrmHealthIndicator, broker: BrokerHealthIndicator, reactions: ReactionsHealthIndicator, subscriptions: SubscriptionsHealthIndicator) {
    const postgres = () => database.pingCheck('postgres', { timeout: HEALTH_CHECK_TIMEOUT_MS });
    this.details = new HealthChecks(health, [
      postgres,
      () => broker.rabbitmq(),
      () => broker.relay(),
      () => broker.deadLetters(),
      () => reactions.reactions(),
      () => subscriptions.subscriptions(),
    ]);
    this.liveness = new HealthChecks(health, []);
    this.readiness = new HealthChecks(health, [postgres]);
  }

  @Get()
  @ApiOperation({ summary: 'Every dependency and reader, with their figures (for people and dashboards)' })
  @ApiExtraModels(DependencyHealth)
  @ApiOkResponse({ type: HealthResponse, description: '`ok`, or `degraded`: RabbitMQ is unreachable or blocking (commands are still accepted), or a figure could not be read' })
  @ApiServiceUnavailableResponse({ type: HealthResponse, description: 'PostgreSQL is down, or a reader of the event store is stopped at an event; `details` says which' })
  check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.details.respond(reply);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process runs (no dependency is checked)' })
  @ApiOkResponse({ type: HealthResponse, description: 'The process answers' })
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.liveness.respond(reply);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the API can take commands and reads (PostgreSQL answers); RabbitMQ is not needed' })
  @ApiOkResponse({ type: HealthResponse, description: 'PostgreSQL answers' })
  @ApiServiceUnavailableResponse({ type: HealthResponse, description: 'PostgreSQL does not answer' })
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.readiness.respond(reply);
  }
}
