import { Controller, Get, HttpCode, Logger, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../../auth/access.decorators';
import { AuthenticatedSubject } from '../../auth/authenticated-principal';
import { listParkedReactions, requestParkedReactionRetry } from '../../event-store/reactions/parked-reactions';
import { ApiProblemResponses } from '../../http/api-problem-responses';
import { ParkedReactionNotFoundError } from '../admin.errors';
import { DEFAULT_LIST_LIMIT, ListLimitRequest } from '../list-limit.request';
import { ParseSubscriptionIdPipe } from '../subscriptions/subscription-id.pipe';
import { ParkedReactionListResponse, ParkedRetryResponse, toParkedReactionResponse } from './parked-reaction.response';

/**
 * Reaction steps parked after their last attempt (`parked_reactions`): what `npm run
 * parked-reactions` does, through the same functions. A retry is a request that the process
 * running the reaction (REACTIONS_ENABLED=true) picks up within seconds (NOTIFY).
 */
@ApiTags('admin: reactions')
@Controller('admin/parked-reactions')
export class ParkedReactionsController {
  private readonly logger = new Logger('Admin');

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get()
  @RequireScopes('admin')
  @ApiOperation({ summary: 'List the parked reaction steps: reaction, step, event, attempts, when, last error' })
  @ApiOkResponse({ type: ParkedReactionListResponse, description: 'The longest parked first; `npm run parked-reactions -- list`' })
  @ApiProblemResponses(400)
  async list(@Query() { limit }: ListLimitRequest): Promise<ParkedReactionListResponse> {
    const { total, items } = await listParkedReactions(this.dataSource, limit ?? DEFAULT_LIST_LIMIT);
    return { total, items: items.map(toParkedReactionResponse) };
  }

  @Post('retry')
  @RequireScopes('admin')
  @HttpCode(202)
  @ApiOperation({ summary: 'Retry every parked reaction step' })
  @ApiAcceptedResponse({ type: ParkedRetryResponse, description: 'Requested (0 when none is parked); GET the list to follow' })
  async retryAll(@AuthenticatedSubject() by: string): Promise<ParkedRetryResponse> {
    const requested = await requestParkedReactionRetry(this.dataSource, { all: true });
    this.logger.log(`${by} asked to retry every parked reaction step (${requested})`);
    return { requested };
  }

  @Post(':reaction/:eventId/retry')
  @RequireScopes('admin')
  @HttpCode(202)
  @ApiParam({ name: 'reaction', description: "the reaction's subscription id, e.g. `reaction:order-fulfilment`" })
  @ApiParam({ name: 'eventId', format: 'uuid', description: 'the event its steps are parked on' })
  @ApiOperation({ summary: 'Retry the steps of one reaction parked on one event' })
  @ApiAcceptedResponse({ type: ParkedRetryResponse, description: 'Requested; GET the list to follow' })
  @ApiProblemResponses(400, 404)
  async retryOne(
    @Param('reaction', new ParseSubscriptionIdPipe('reaction')) reaction: string,
    @Param('eventId', new ParseUUIDPipe({ version: undefined })) eventId: string,
    @AuthenticatedSubject() by: string,
  ): Promise<ParkedRetryResponse> {
    const requested = await requestParkedReactionRetry(this.dataSource, { reaction, eventId });
    if (requested === 0) throw new ParkedReactionNotFoundError(reaction, eventId);
    this.logger.log(`${by} asked ${reaction} to retry its ${requested} step(s) parked on event ${eventId}`);
    return { requested };
  }
}
