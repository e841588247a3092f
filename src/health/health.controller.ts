import { Controller, Get, Res } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../auth/access.decorators';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { HEALTH_CHECK_TIMEOUT_MS, HealthChecks } from './respond-with-health';
import { BrokerHealthIndicator } from './broker-health.indicator';
import { HealthResponse, ReaderHealth } from './health.response';
import { ReactionsHealthIndicator } from './reactions-health.indicator';
import { SubscriptionsHealthIndicator } from './subscriptions-health.indicator';

const UP = {
  postgres: { status: 'up' },
  rabbitmq: { status: 'up', connected: true, blocked: false },
  relay: { status: 'up', lag: 0, relaying: true, inFlight: 0 },
  deadLetters: { status: 'up', queue: 'eda.consumer.dead-letter', messages: 0 },
  reactions: { status: 'up', parked: 0 },
};
const READERS = {
  'relay:integration-events': { checkpoint: 44, lagEvents: 0, lagSeconds: 0 },
  'reaction:order-fulfilment': {
    checkpoint: 40,
    lagEvents: 4,
    lagSeconds: 30.2,
    paused: { by: 'ops-ada', reason: 'credit service maintenance', since: '2026-11-23T09:59:42.000Z' },
  },
};
const HEALTHY = { status: 'ok', info: { ...UP, subscriptions: { status: 'up', stopped: [], readers: READERS } }, error: {}, details: { ...UP, subscriptions: { status: 'up', stopped: [], readers: READERS } } };
const STOPPED_READERS = {
  status: 'down',
  stopped: ['projection:order-summaries'],
  readers: {
    ...READERS,
    'projection:order-summaries': {
      checkpoint: 41,
      lagEvents: 3,
      lagSeconds: 12.5,
      stoppedAt: { eventId: '0b7e6f1c-3f43-4d55-9b9e-8d4b3c2f6a10', globalPosition: 42, eventType: 'OrderPlaced' },
      error: "TypeError: Cannot read properties of undefined (reading 'currency')",
      attempts: 7,
      since: '2026-11-23T10:00:00.000Z',
      lastAttemptAt: '2026-11-23T10:00:12.000Z',
    },
  },
};
const READER_STOPPED = { status: 'error', info: UP, error: { subscriptions: STOPPED_READERS }, details: { ...UP, subscriptions: STOPPED_READERS } };

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
@ApiTags('Health')
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
  @ApiOperation({ operationId: 'getHealth', summary: 'Every dependency and reader, with their figures (for people and dashboards)' })
  @ApiExtraModels(ReaderHealth)
  @ApiOkResponse({
    type: HealthResponse,
    description: '`ok`, or `degraded`: RabbitMQ is unreachable or blocking (commands are still accepted), or a figure could not be read',
    example: HEALTHY,
  })
  @ApiServiceUnavailableResponse({
    type: HealthResponse,
    description: 'PostgreSQL is down, or a reader of the event store is stopped at an event (`details` says which), or the process is shutting down',
    example: READER_STOPPED,
  })
  check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.details.respond(reply);
  }

  @Get('live')
  @ApiOperation({ operationId: 'getLiveness', summary: 'Liveness: the process runs (no dependency is checked)' })
  @ApiOkResponse({ type: HealthResponse, description: 'The process answers', example: { status: 'ok', info: {}, error: {}, details: {} } })
  @ApiServiceUnavailableResponse({
    type: HealthResponse,
    description: 'The process is shutting down (`shutting_down`)',
    example: { status: 'shutting_down', info: {}, error: {}, details: {} },
  })
  live(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.liveness.respond(reply);
  }

  @Get('ready')
  @ApiOperation({ operationId: 'getReadiness', summary: 'Readiness: the API can take commands and reads (PostgreSQL answers); RabbitMQ is not needed' })
  @ApiOkResponse({
    type: HealthResponse,
    description: 'PostgreSQL answers',
    example: { status: 'ok', info: { postgres: { status: 'up' } }, error: {}, details: { postgres: { status: 'up' } } },
  })
  @ApiServiceUnavailableResponse({
    type: HealthResponse,
    description: 'PostgreSQL does not answer, or the process is shutting down',
    example: {
      status: 'error',
      info: {},
      error: { postgres: { status: 'down', message: 'timeout of 2000ms exceeded' } },
      details: { postgres: { status: 'down', message: 'timeout of 2000ms exceeded' } },
    },
  })
  ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    return this.readiness.respond(reply);
  }
}
