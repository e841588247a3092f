import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';

/** The OpenAPI shapes of terminus' health check result as this API's indicators fill it. */

const DEPENDENCY_STATUSES = ['up', 'degraded', 'down'] as const;
const MESSAGE = { description: 'why the dependency is `degraded` or `down`' };

/** What every indicator reports. */
export class DependencyHealth {
  @ApiProperty({ enum: DEPENDENCY_STATUSES, description: '`degraded`: impaired, but the process still does its job; `down` answers 503' })
  status: (typeof DEPENDENCY_STATUSES)[number];

  @ApiPropertyOptional({ ...MESSAGE, example: 'timeout of 2000ms exceeded' })
  message?: string;
}

export class PostgresHealth extends DependencyHealth {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, example: 3, description: 'milliseconds the ping took' })
  responseTime?: number;
}

export class RabbitmqHealth extends DependencyHealth {
  @ApiPropertyOptional({ description: 'whether the publishing connection is open (`degraded` when not: events wait in the outbox)' })
  connected?: boolean;

  @ApiPropertyOptional({ description: 'whether RabbitMQ blocks publishing (memory or disk alarm)' })
  blocked?: boolean;
}

export class RelayHealth extends DependencyHealth {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'events stored but not yet confirmed by the broker' })
  lag?: number;

  @ApiPropertyOptional({ description: 'whether this process is the one relaying (one process relays at a time)' })
  relaying?: boolean;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'messages sent and not yet confirmed' })
  inFlight?: number;
}

export class DeadLettersHealth extends DependencyHealth {
  @ApiProperty({ example: 'eda.consumer.dead-letter' })
  queue: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'messages the consumer parked (see GET /admin/dead-letters)' })
  messages?: number;
}

export class ReactionsHealth extends DependencyHealth {
  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'reaction steps set aside after their last attempt (see GET /admin/parked-reactions)' })
  parked?: number;
}

export class StoppedAtHealth {
  @ApiProperty({ format: 'uuid' })
  eventId: string;

  @ApiProperty({ type: 'integer', example: 42 })
  globalPosition: number;

  @ApiProperty({ example: 'OrderPlaced' })
  eventType: string;
}

export class PauseHealth {
  @ApiProperty({ example: 'ops-ada' })
  by: string;

  @ApiProperty({ example: 'credit service maintenance' })
  reason: string;

  @ApiProperty({ format: 'date-time' })
  since: string;
}

/** The lag of a reader (or one segment of it) and, when it fails at an event, that failure. */
class LagHealth {
  @ApiProperty({ type: 'integer', example: 41, description: 'global position of the last event it took' })
  checkpoint: number;

  @ApiProperty({ type: 'integer', minimum: 0, example: 3, description: 'committed events it has yet to take' })
  lagEvents: number;

  @ApiProperty({ minimum: 0, example: 12.5, description: 'age of the oldest event it has yet to take, in seconds' })
  lagSeconds: number;

  @ApiPropertyOptional({ type: StoppedAtHealth, description: 'the event it fails at' })
  stoppedAt?: StoppedAtHealth;

  @ApiPropertyOptional({ example: "TypeError: Cannot read properties of undefined (reading 'currency')" })
  error?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, description: 'failed attempts at that event (stopped from 3 on)' })
  attempts?: number;

  @ApiPropertyOptional({ format: 'date-time' })
  since?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  lastAttemptAt?: string;
}

export class SegmentHealth extends LagHealth {
  @ApiProperty({ type: 'integer', minimum: 0 })
  segment: number;

  @ApiProperty({ type: String, nullable: true, description: 'the lease session holding the segment; null: no process holds it' })
  heldBy: string | null;
}

export class ReaderHealth extends LagHealth {
  @ApiPropertyOptional({ type: PauseHealth, description: 'paused by an operator (no outage: its lag grows by intent)' })
  paused?: PauseHealth;

  @ApiPropertyOptional({ type: [SegmentHealth], description: 'split into segments: each one (the figures above are the slowest one\'s)' })
  segments?: SegmentHealth[];
}

export class SubscriptionsHealth extends DependencyHealth {
  @ApiPropertyOptional({ type: [String], example: ['projection:order-summaries'], description: 'the readers stopped at an event (any makes the status 503)' })
  stopped?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(ReaderHealth) },
    description: 'every reader of the event store by subscription id',
  })
  readers?: Record<string, ReaderHealth>;
}

/** The indicators by name; each endpoint checks some of them (`/health/live` none, `/health/ready` only `postgres`). */
export class HealthIndicators {
  @ApiPropertyOptional({ type: PostgresHealth })
  postgres?: PostgresHealth;

  @ApiPropertyOptional({ type: RabbitmqHealth, description: '`degraded` when unreachable or blocking: commands are still accepted, their events wait in the outbox' })
  rabbitmq?: RabbitmqHealth;

  @ApiPropertyOptional({ type: RelayHealth })
  relay?: RelayHealth;

  @ApiPropertyOptional({ type: DeadLettersHealth })
  deadLetters?: DeadLettersHealth;

  @ApiPropertyOptional({ type: ReactionsHealth })
  reactions?: ReactionsHealth;

  @ApiPropertyOptional({ type: SubscriptionsHealth, description: 'one stopped at an event is `down`; one an operator paused shows who, why and since when' })
  subscriptions?: SubscriptionsHealth;
}

const HEALTH_STATUSES = ['ok', 'degraded', 'error', 'shutting_down'] as const;

/** terminus' HealthCheckResult: 200 when `ok` or `degraded`, 503 when `error` or `shutting_down`. */
export class HealthResponse {
  @ApiProperty({
    enum: HEALTH_STATUSES,
    description: '`ok` and `degraded` (some indicator is `degraded`, none `down`) answer 200; `error` (one is `down`) and `shutting_down` (the process is stopping) answer 503',
  })
  status: (typeof HEALTH_STATUSES)[number];

  @ApiPropertyOptional({ type: HealthIndicators, description: 'the indicators that are `up` or `degraded`' })
  info?: HealthIndicators;

  @ApiPropertyOptional({ type: HealthIndicators, description: 'the indicators that are `down`' })
  error?: HealthIndicators;

  @ApiProperty({ type: HealthIndicators, description: 'every indicator checked (empty when a check itself failed)' })
  details: HealthIndicators;
}
