import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RequireScopes } from '../../auth/access.decorators';
import { AuthenticatedSubject } from '../../auth/authenticated-principal';
import { DEFAULT_BATCH_SIZE } from '../../cli/rebuild-arguments';
import type { ProjectionDefinition } from '../../event-store';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS, invalidFields, MALFORMED_UUID } from '../../http/openapi/problem-causes';
import { ProjectionNotFoundError, ProjectionRebuildNotPermittedError, ProjectionRebuildRunningError, RebuildJobNotFoundError } from '../admin.errors';
import { ProjectionRebuildJobs, RebuildAlreadyRunning } from './projection-rebuild-jobs';
import {
  RebuildableProjectionListResponse,
  RebuildJobResponse,
  toRebuildableProjectionResponse,
  toRebuildJobResponse,
} from './rebuild-job.response';
import { StartRebuildRequest } from './start-rebuild.request';
import { CanonicalUuidPipe } from '../../http/canonical-uuid';

const NAME_PARAM = ApiParam({ name: 'name', description: 'the projection, e.g. `order-summaries` (see GET /admin/projections)', example: 'order-summaries' });
const NOT_FOUND = causeOf(new ProjectionNotFoundError('orders-by-day', ['order-summaries']));
const jobId = new CanonicalUuidPipe();

/** Where a rebuild job is followed. */
function jobLocation(projection: string, id: string): string {
  return `/admin/projections/${encodeURIComponent(projection)}/rebuilds/${id}`;
}

/**
 * Projection rebuilds: what `npm run rebuild-projections` does, through the same
 * ProjectionRebuilder, as a job (a rebuild of a large store takes minutes): POST starts it and
 * answers 202 with where to follow it.
 */
@ApiTags('Admin: projections')
@Controller('admin/projections')
export class ProjectionsController {
  constructor(private readonly jobs: ProjectionRebuildJobs) {}

  @Get()
  @RequireScopes('admin')
  @ApiOperation({ operationId: 'listRebuildableProjections', summary: 'List the projections that can be rebuilt' })
  @ApiOkResponse({ type: RebuildableProjectionListResponse, description: '`npm run rebuild-projections -- --list`' })
  list(): RebuildableProjectionListResponse {
    return { items: this.jobs.manifests.projections.map(toRebuildableProjectionResponse) };
  }

  @Post(':name/rebuilds')
  @RequireScopes('admin')
  @NAME_PARAM
  @HttpCode(202)
  @ApiOperation({
    operationId: 'startProjectionRebuild',
    summary: 'Start rebuilding a projection from the whole event store',
    description:
      'Replays every event into a fresh copy of its table while the live one keeps answering queries, then swaps the copy in ' +
      'if both hold the same rows (or `acceptDifferences`). One rebuild at a time per projection, whoever started it. ' +
      'Follow it at `Location`.',
  })
  @ApiBody({ type: StartRebuildRequest, required: false })
  @ApiAcceptedResponse({
    type: RebuildJobResponse,
    description: 'Started; GET `Location` to follow its progress and outcome',
    headers: { Location: { description: 'The job: GET it to follow the rebuild', schema: { type: 'string', example: '/admin/projections/order-summaries/rebuilds/0b7e6f1c-3f43-4d55-9b9e-8d4b3c2f6a10' } } },
  })
  @ApiProblems(
    invalidFields([{ field: 'batchSize', message: 'batchSize must not be less than 1' }]),
    NOT_FOUND,
    causeOf(
      new ProjectionRebuildRunningError('order-summaries', `/admin/projections/order-summaries/rebuilds/${EXAMPLE_IDS.event}`),
      'Another rebuild of the projection is running',
    ),
    causeOf(
      new ProjectionRebuildNotPermittedError('order-summaries', 'order_summaries', 'the database role app lacks CREATE on schema public and ownership of order_summaries (owned by migrator)'),
      "This process's database role may not create and drop tables (an app run without DDL rights): rebuild with the CLI as the tables' owner",
    ),
  )
  async start(
    @Param('name') name: string,
    @Body() body: StartRebuildRequest,
    @AuthenticatedSubject() by: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RebuildJobResponse> {
    const projection = this.projection(name);
    try {
      const job = await this.jobs.start(projection, {
        batchSize: body?.batchSize ?? DEFAULT_BATCH_SIZE,
        acceptDifferences: body?.acceptDifferences ?? false,
        requestedBy: by,
      });
      void reply.header('location', jobLocation(projection.name, job.id));
      return toRebuildJobResponse(job);
    } catch (error) {
      if (!(error instanceof RebuildAlreadyRunning)) throw error;
      throw new ProjectionRebuildRunningError(projection.name, error.runningJob && jobLocation(projection.name, error.runningJob.id));
    }
  }

  @Get(':name/rebuilds/:jobId')
  @RequireScopes('admin')
  @NAME_PARAM
  @ApiParam({ name: 'jobId', format: 'uuid', description: 'the job (`Location` of the POST that started it)', example: EXAMPLE_IDS.event })
  @ApiOperation({ operationId: 'getProjectionRebuild', summary: 'Follow a projection rebuild: its status, progress and outcome' })
  @ApiOkResponse({ type: RebuildJobResponse, description: 'As the job stands now, whichever API process runs it' })
  @ApiProblems(MALFORMED_UUID, NOT_FOUND, causeOf(new RebuildJobNotFoundError('order-summaries', EXAMPLE_IDS.event)))
  async get(@Param('name') name: string, @Param('jobId', jobId) id: string): Promise<RebuildJobResponse> {
    const projection = this.projection(name);
    const job = await this.jobs.get(id);
    if (!job || job.projection !== projection.name) throw new RebuildJobNotFoundError(projection.name, id);
    return toRebuildJobResponse(job);
  }

  private projection(name: string): ProjectionDefinition {
    const projection = this.jobs.manifests.projection(name);
    if (!projection) throw new ProjectionNotFoundError(name, this.jobs.manifests.projections.map((known) => known.name));
    return projection;
  }
}
