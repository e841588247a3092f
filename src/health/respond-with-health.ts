import type { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { SingleFlight } from '../shared/single-flight';

/**
 * How long a check may wait for PostgreSQL (or any dependency it reads) before it counts as failed:
 * a server that hangs (accepts, never answers) must not hang the probe or the details with it.
 */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

interface HealthAnswer {
  status: 200 | 503;
  body: HealthCheckResult;
}

/**
 * The checks of one health endpoint, run with terminus: 200 with its result when every indicator
 * is `up` (`status: "ok"`) or some are `degraded` (`status: "degraded"`); 503 with the same body
 * (`status: "error"`, not problem+json, so a probe and a person read one shape) when one is
 * `down`, or when an indicator threw (then `details` is empty).
 *
 * The endpoints are open and not rate limited (probes and dashboards call them at their own
 * pace), so requests that arrive while the checks run share that run: their cost to the database
 * and the broker is one round at a time, however many arrive, and a flood of them cannot take the
 * pool from the commands.
 */
export class HealthChecks {
  private readonly flight: SingleFlight<HealthAnswer>;

  constructor(health: HealthCheckService, indicators: HealthIndicatorFunction[]) {
    this.flight = new SingleFlight(async () => {
      try {
        return { status: 200, body: await health.check(indicators) };
      } catch (error) {
        return { status: 503, body: (error as { response?: HealthCheckResult }).response ?? { status: 'error', details: {} } };
      }
    });
  }

  async respond(reply: FastifyReply): Promise<HealthCheckResult> {
    const { status, body } = await this.flight.run();
    if (status !== 200) void reply.status(status);
    return body;
  }
}
