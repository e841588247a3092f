import type { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

/** Runs the checks; a failing one answers 503 with terminus' result body (not problem+json). */
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
