import { Body, Controller, Get, HttpCode, Logger, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../../auth/access.decorators';
import { AuthenticatedSubject } from '../../auth/authenticated-principal';
import { requestRetry, skipFailingEvent } from '../../event-store/subscription/subscription-failures';
import { pauseSubscription, resumeSubscription } from '../../event-store/subscription/subscription-pauses';
import { readSubscriptionStatuses, SubscriptionStatus } from '../../event-store/subscription/subscription-status';
import { ApiProblemResponses } from '../../http/api-problem-responses';
import {
  SubscriptionAlreadyPausedError,
  SubscriptionNotFoundError,
  SubscriptionNotPausedError,
  SubscriptionNotStoppedError,
  SubscriptionStoppedAtAnotherEventError,
} from '../admin.errors';
import { PauseSubscriptionRequest, SkipEventRequest } from './subscription-commands.request';
import { ParseSubscriptionIdPipe } from './subscription-id.pipe';
import {
  SkippedEventResponse,
  SubscriptionListResponse,
  SubscriptionStatusResponse,
  toFailingEvent,
  toStatusResponse,
} from './subscription.response';

const subscriptionId = new ParseSubscriptionIdPipe();
const ID_PARAM = ApiParam({ name: 'id', description: 'the subscription id, e.g. `projection:order-summaries`, `reaction:order-fulfilment`, `relay:integration-events`' });

/**
 * The readers of the event store (projections, reactions, the relay), whichever process runs
 * them: what `npm run subscriptions` does, through the same functions. A retry, a skip or a
 * resume reaches the running processes at once (NOTIFY).
 */
@ApiTags('admin: subscriptions')
@Controller('admin/subscriptions')
export class SubscriptionsController {
  private readonly logger = new Logger('Admin');

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get()
  @RequireScopes('admin')
  @ApiOperation({ summary: 'List every reader of the event store with its position, lag and state' })
  @ApiOkResponse({ type: SubscriptionListResponse, description: 'Every subscription, by id; `npm run subscriptions -- list`' })
  async list(): Promise<SubscriptionListResponse> {
    return { items: (await readSubscriptionStatuses(this.dataSource)).map(toStatusResponse) };
  }

  @Get(':id')
  @RequireScopes('admin')
  @ID_PARAM
  @ApiOperation({ summary: "Show one reader's position, lag and state" })
  @ApiOkResponse({ type: SubscriptionStatusResponse, description: 'Its checkpoint, lag, failure (when stopped) and pause (when paused)' })
  @ApiProblemResponses(400, 404)
  async get(@Param('id', subscriptionId) id: string): Promise<SubscriptionStatusResponse> {
    return toStatusResponse(await this.status(id));
  }

  @Post(':id/retry')
  @RequireScopes('admin')
  @ID_PARAM
  @HttpCode(202)
  @ApiOperation({ summary: 'Make a stopped reader try the event it is stopped at again, now (fix the cause first)' })
  @ApiAcceptedResponse({
    type: SubscriptionStatusResponse,
    description: 'Every process running it was woken and tries the event at once; its state as it was when asked (GET it to follow)',
  })
  @ApiProblemResponses(400, 404, 409)
  async retry(@Param('id', subscriptionId) id: string, @AuthenticatedSubject() by: string): Promise<SubscriptionStatusResponse> {
    const status = await this.status(id);
    if (!status.failure) throw new SubscriptionNotStoppedError(id, 'retry');
    await requestRetry(this.dataSource, id);
    this.logger.log(`${by} asked ${id} to retry ${status.failure.eventType} ${status.failure.eventId}`);
    return toStatusResponse(status);
  }

  @Post(':id/skip')
  @RequireScopes('admin')
  @ID_PARAM
  @HttpCode(200)
  @ApiOperation({ summary: 'Move a stopped reader past the event it is stopped at (recorded: who, when, why)' })
  @ApiOkResponse({
    type: SkippedEventResponse,
    description: 'The checkpoint is past the event (nothing before it was skipped), `skipped_events` records it, and the reader goes on at once',
  })
  @ApiProblemResponses(400, 404, 409)
  async skip(@Param('id', subscriptionId) id: string, @Body() body: SkipEventRequest, @AuthenticatedSubject() by: string): Promise<SkippedEventResponse> {
    const reason = body.reason.trim();
    const result = await skipFailingEvent(this.dataSource, id, { eventId: body.eventId, by, reason });
    switch (result.outcome) {
      case 'unknown-subscription':
        throw new SubscriptionNotFoundError(id, await this.knownIds());
      case 'not-stopped':
        throw new SubscriptionNotStoppedError(id, 'skip');
      case 'stopped-at-another-event':
        throw new SubscriptionStoppedAtAnotherEventError(id, toFailingEvent(result.failure), body.eventId);
      case 'skipped':
        this.logger.warn(`${by} skipped ${result.failure.eventType} ${result.failure.eventId} on ${id}: ${reason}`);
        return { subscriptionId: id, skipped: toFailingEvent(result.failure), attempts: result.failure.attempts, skippedBy: by, reason };
    }
  }

  @Post(':id/pause')
  @RequireScopes('admin')
  @ID_PARAM
  @HttpCode(200)
  @ApiOperation({
    summary: 'Pause a reader in every process, durably, until resumed',
    description:
      'Its checkpoint stays; it takes no further event, across restarts. A projection commits the batch it is applying before this answers; ' +
      'a reaction or the relay finishes the batch it is working on. Its lag grows (admission control does not count it). ' +
      'The events wait in the store: nothing is lost.',
  })
  @ApiOkResponse({ type: SubscriptionStatusResponse, description: 'Paused; its state now' })
  @ApiProblemResponses(400, 404, 409)
  async pause(@Param('id', subscriptionId) id: string, @Body() body: PauseSubscriptionRequest, @AuthenticatedSubject() by: string): Promise<SubscriptionStatusResponse> {
    const reason = body.reason.trim();
    const result = await pauseSubscription(this.dataSource, id, { by, reason });
    if (result.outcome === 'unknown-subscription') throw new SubscriptionNotFoundError(id, await this.knownIds());
    if (result.outcome === 'already-paused') throw new SubscriptionAlreadyPausedError(id, result.pause);
    this.logger.warn(`${by} paused ${id}: ${reason}`);
    return toStatusResponse(await this.status(id));
  }

  @Post(':id/resume')
  @RequireScopes('admin')
  @ID_PARAM
  @HttpCode(200)
  @ApiOperation({ summary: 'Let a paused reader go on from its checkpoint' })
  @ApiOkResponse({ type: SubscriptionStatusResponse, description: 'Resumed: every process running it looks at once; its state now' })
  @ApiProblemResponses(400, 404, 409)
  async resume(@Param('id', subscriptionId) id: string, @AuthenticatedSubject() by: string): Promise<SubscriptionStatusResponse> {
    const result = await resumeSubscription(this.dataSource, id);
    if (result.outcome === 'unknown-subscription') throw new SubscriptionNotFoundError(id, await this.knownIds());
    if (result.outcome === 'not-paused') throw new SubscriptionNotPausedError(id);
    this.logger.log(`${by} resumed ${id} (paused by ${result.pause.by} since ${result.pause.since.toISOString()})`);
    return toStatusResponse(await this.status(id));
  }

  private async status(id: string): Promise<SubscriptionStatus> {
    const statuses = await readSubscriptionStatuses(this.dataSource);
    const status = statuses.find((candidate) => candidate.subscriptionId === id);
    if (!status) throw new SubscriptionNotFoundError(id, statuses.map(({ subscriptionId }) => subscriptionId));
    return status;
  }

  private async knownIds(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(`SELECT DISTINCT subscription_id AS id FROM subscription_checkpoints ORDER BY 1`);
    return rows.map(({ id }) => id);
  }
}
