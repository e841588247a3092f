import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';
import { DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE } from '../../cli/rebuild-arguments';

export class StartRebuildRequest {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_BATCH_SIZE, default: DEFAULT_BATCH_SIZE, description: 'events applied per transaction' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_BATCH_SIZE)
  batchSize?: number;

  @ApiPropertyOptional({
    default: false,
    description: 'swap the rebuilt table in even when its rows differ from the live ones: how changed projection logic is deployed',
  })
  @IsOptional()
  @IsBoolean()
  acceptDifferences?: boolean;
}
