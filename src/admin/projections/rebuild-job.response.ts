import { ApiProperty } from '@nestjs/swagger';
import type { ProjectionDefinition } from '../../event-store';
import { REBUILD_JOB_STATUSES, type RebuildJob, type RebuildJobStatus } from './projection-rebuild-jobs';

export class RebuildableProjectionResponse {
  @ApiProperty({ example: 'order-summaries', description: 'the name to rebuild it by' })
  name: string;

  @ApiProperty({ example: 'order_summaries', description: 'the read-model table queries read' })
  table: string;

  @ApiProperty({ example: 'projection:order-summaries', description: 'its live projector (see /admin/subscriptions)' })
  subscriptionId: string;
}

export class RebuildableProjectionListResponse {
  @ApiProperty({ type: [RebuildableProjectionResponse] })
  items: RebuildableProjectionResponse[];
}

export class ReadModelDifferencesResponse {
  @ApiProperty({ type: 'integer', description: 'rows of the live table the rebuilt one does not hold exactly so' })
  onlyInLive: number;

  @ApiProperty({ type: 'integer', description: 'rows of the rebuilt table the live one does not hold exactly so' })
  onlyInRebuilt: number;

  @ApiProperty({ type: [String], description: 'primary keys of a few differing rows' })
  sampleKeys: string[];
}

export class RebuildResultResponse {
  @ApiProperty({ type: 'integer', description: 'events replayed into the rebuilt table' })
  eventsReplayed: number;

  @ApiProperty({ description: 'whether the rebuilt rows equal the live ones' })
  identical: boolean;

  @ApiProperty({ description: 'whether the rebuilt table replaced the live one (identical, or differences accepted); when not, it was dropped' })
  swapped: boolean;

  @ApiProperty({ type: ReadModelDifferencesResponse })
  differences: ReadModelDifferencesResponse;

  @ApiProperty({ example: 12.3, description: 'how long the rebuild took, in seconds' })
  seconds: number;
}

export class RebuildProgressResponse {
  @ApiProperty({ type: 'integer', description: 'events replayed so far' })
  eventsDone: number;

  @ApiProperty({ type: 'integer', nullable: true, description: 'events in the store at the start plus those appended since; null before the first batch' })
  eventsTotal: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 8900, description: 'events replayed per second so far' })
  eventsPerSecond: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 4.2, description: 'estimated seconds left; null until known' })
  secondsLeft: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 24.7, description: 'eventsDone of eventsTotal, in percent' })
  percent: number | null;
}

export class RebuildJobResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'order-summaries' })
  projection: string;

  @ApiProperty({
    enum: REBUILD_JOB_STATUSES,
    description:
      '`running`; `completed` (see `result.swapped`: false when the rows differed and differences were not accepted, the live table kept); ' +
      '`failed` (see `error`; the live table kept); `interrupted`: its process stopped or died before the swap, the live table kept (start it again)',
  })
  status: RebuildJobStatus;

  @ApiProperty({ type: 'integer', example: 1000 })
  batchSize: number;

  @ApiProperty()
  acceptDifferences: boolean;

  @ApiProperty({ example: 'ops-ada', description: "the token's `sub`" })
  requestedBy: string;

  @ApiProperty({ type: RebuildProgressResponse })
  progress: RebuildProgressResponse;

  @ApiProperty({ type: RebuildResultResponse, nullable: true, description: 'set once `completed`' })
  result: RebuildResultResponse | null;

  @ApiProperty({ type: String, nullable: true, description: 'why it `failed` or was `interrupted`' })
  error: string | null;

  @ApiProperty({ format: 'date-time' })
  startedAt: string;

  @ApiProperty({ format: 'date-time', description: 'its last progress report or change of status' })
  updatedAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt: string | null;
}

export function toRebuildableProjectionResponse({ name, table, subscriptionId }: ProjectionDefinition): RebuildableProjectionResponse {
  return { name, table, subscriptionId };
}

export function toRebuildJobResponse(job: RebuildJob): RebuildJobResponse {
  const percent = job.eventsTotal === null ? null : job.eventsTotal === 0 ? 100 : Math.round((1000 * job.eventsDone) / job.eventsTotal) / 10;
  return {
    id: job.id,
    projection: job.projection,
    status: job.status,
    batchSize: job.batchSize,
    acceptDifferences: job.acceptDifferences,
    requestedBy: job.requestedBy,
    progress: { eventsDone: job.eventsDone, eventsTotal: job.eventsTotal, eventsPerSecond: job.eventsPerSecond, secondsLeft: job.secondsLeft, percent },
    result: job.result,
    error: job.error,
    startedAt: job.startedAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}
