import { Controller, Get, HttpCode, Logger, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../../auth/access.decorators';
import { AuthenticatedSubject } from '../../auth/authenticated-principal';
import { listParkedReactions, requestParkedReactionRetry } from '../../event-store';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS, invalidFields, MALFORMED_UUID } from '../../http/openapi/problem-causes';
import { INVALID_LIST_LIMIT } from '../list-limit.request';
import { ParkedReactionNotFoundError } from '../admin.errors';
import { DEFAULT_LIST_LIMIT, ListLimitRequest } from '../list-limit.request';
import { ParseSubscriptionIdPipe } from '../subscriptions/subscription-id.pipe';
import { ParkedReactionListResponse, ParkedRetryResponse, toParkedReactionResponse } from './parked-reaction.response';
import { CanonicalUuidPipe } from '../../http/canonical-uuid';

/**
 * Reaction steps parked after their last attempt (`parked_reactions`): what `npm run
 * parked-reactions` does, through the same functions. A retry is a request that the process
 * running the reaction (REACTIONS_ENABLED=true) picks up within seconds (NOTIFY).
 */
@ApiTags('Admin: parked reactions')
@Controller('admin/parked-reactions')
export class ParkedReactionsController {
  private readonly logger = new Logger('Admin');

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get()
  @RequireScopes('admin')
  @ApiOperation({ operationId: 'listParkedReactions', summary: 'List the parked reaction steps: reaction, step, event, attempts, when, last error' })
  @ApiOkResponse({ type: ParkedReactionListResponse, description: 'The longest parked first; `npm run parked-reactions -- list`' })
  @ApiProblems(INVALID_LIST_LIMIT)
  async list(@Query() { limit }: ListLimitRequest): Promise<ParkedReactionListResponse> {
    const { total, items } = await listParkedReactions(this.dataSource, limit ?? DEFAULT_LIST_LIMIT);
    return { total, items: items.map(toParkedReactionResponse) };
  }

  @Post('retry')
  @RequireScopes('admin')
  @HttpCode(202)
  @ApiOperation({ operationId: 'retryParkedReactions', summary: 'Retry every parked reaction step' })
  @ApiAcceptedResponse({ type: ParkedRetryResponse, description: 'Requested (0 when none is parked); GET the list to follow' })
  async retryAll(@AuthenticatedSubject() by: string): Promise<ParkedRetryResponse> {
    const requested = await requestParkedReactionRetry(this.dataSource, { all: true });
    this.logger.log(`${by} asked to retry every parked reaction step (${requested})`);
    return { requested };
  }

  @Post(':reaction/:eventId/retry')
  @RequireScopes('admin')
  @HttpCode(202)
  @ApiParam({
    name: 'reaction',
    description: "the reaction's subscription id, e.g. `reaction:order-fulfilment`",
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$', example: 'reaction:order-fulfilment' },
  })
  @ApiParam({ name: 'eventId', format: 'uuid', description: 'the event its steps are parked on', example: EXAMPLE_IDS.event })
  @ApiOperation({ operationId: 'retryParkedReaction', summary: 'Retry the steps of one reaction parked on one event' })
  @ApiAcceptedResponse({ type: ParkedRetryResponse, description: 'Requested; GET the list to follow' })
  @ApiProblems(
    invalidFields([{ field: 'reaction', message: 'reaction must be a subscription id: letters, digits and ._:- (at most 200)' }], 'The reaction is not a subscription id'),
    MALFORMED_UUID,
    causeOf(new ParkedReactionNotFoundError('reaction:order-fulfilment', EXAMPLE_IDS.event)),
  )
  async retryOne(
    @Param('reaction', new ParseSubscriptionIdPipe('reaction')) reaction: string,
    @Param('eventId', new CanonicalUuidPipe()) eventId: string,
    @AuthenticatedSubject() by: string,
  ): Promise<ParkedRetryResponse> {
    const requested = await requestParkedReactionRetry(this.dataSource, { reaction, eventId });
    if (requested === 0) throw new ParkedReactionNotFoundError(reaction, eventId);
    this.logger.log(`${by} asked ${reaction} to retry its ${requested} step(s) parked on event ${eventId}`);
    return { requested };
  }
}
