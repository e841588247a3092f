import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { invalidFields } from '../http/openapi/problem-causes';

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/** `?limit=` of an admin list: how many entries at most, 1 to MAX_LIST_LIMIT (default DEFAULT_LIST_LIMIT). */
export class ListLimitRequest {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_LIST_LIMIT, default: DEFAULT_LIST_LIMIT })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_LIST_LIMIT)
  limit?: number;
}

/** The 400 of a `limit` out of range, as the OpenAPI document shows it. */
export const INVALID_LIST_LIMIT = invalidFields([{ field: 'limit', message: `limit must not be greater than ${MAX_LIST_LIMIT}` }], 'limit is out of range');
