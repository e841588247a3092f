import { ApiProperty } from '@nestjs/swagger';

export class DependencyHealth {
  @ApiProperty({ enum: ['up', 'down'] })
  status: 'up' | 'down';
}

export class HealthResponse {
  @ApiProperty({ enum: ['ok', 'error'] })
  status: 'ok' | 'error';

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/DependencyHealth' },
    example: { postgres: { status: 'up' }, rabbitmq: { status: 'up' }, relay: { status: 'up', lag: 0, relaying: true } },
    description: 'every checked dependency by name',
  })
  details: Record<string, DependencyHealth>;
}
