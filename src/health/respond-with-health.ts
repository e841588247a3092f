import type { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

/**
 * How long a check may wait for PostgreSQL (or any dependency it reads) before it counts as failed:
 * a server that hangs (accepts, never answers) must not hang the probe or the details with it.
 */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

/**
 * Runs the checks with terminus: 200 with its result when every indicator is `up` (`status: "ok"`)
 * or some are `degraded` (`status: "degraded"`); 503 with the same body (`status: "error"`, not
 * problem+json, so a probe and a person read one shape) when one is `down`, or when an indicator
 * threw (then `details` is empty).
 */
export async function respondWithHealth(
  health: HealthCheckService,
  reply: FastifyReply,
  indicators: HealthIndicatorFunction[],
): Promise<HealthCheckResult> {
  try {
    return await health.check(indicators);
  } catch (error) {
    void reply.status(503);
    return (error as { response?: HealthCheckResult }).response ?? { status: 'error', details: {} };
  }
}
