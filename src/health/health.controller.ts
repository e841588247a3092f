import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
  ) {}

  @Get()
  @ApiOkResponse({ description: 'Every dependency is reachable' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down; `details` says which' })
  async check(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.database.pingCheck('postgres', { timeout: 2000 })]);
    } catch (error) {
      void reply.status(503);
      return (error as { response?: HealthCheckResult }).response ?? { status: 'error', details: {} };
    }
  }
}
