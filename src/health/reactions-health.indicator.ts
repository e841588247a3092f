import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withinTimeLimit } from '../shared/time-limit';
import { HEALTH_CHECK_TIMEOUT_MS } from './respond-with-health';

/** Informational: reactions set aside after their last attempt, waiting for an operator. Never fails the check. */
@Injectable()
export class ReactionsHealthIndicator {
  constructor(
    private readonly indicator: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  async reactions() {
    const session = this.indicator.check('reactions');
    try {
      const [{ parked }] = await withinTimeLimit(
        this.dataSource.query<Array<{ parked: number }>>(`SELECT count(*)::int AS parked FROM parked_reactions`),
        HEALTH_CHECK_TIMEOUT_MS,
        'PostgreSQL',
      );
      return session.up({ parked });
    } catch (error) {
      return session.degraded({ message: `cannot count the parked reactions: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
