import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

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
      const [{ parked }] = await this.dataSource.query(`SELECT count(*)::int AS parked FROM parked_reactions`);
      return session.up({ parked });
    } catch (error) {
      return session.degraded({ message: `cannot count the parked reactions: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
}
