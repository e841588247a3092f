import type { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

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
