import { Body, Controller, Get, HttpCode, Logger, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../../auth/access.decorators';
import { AuthenticatedSubject } from '../../auth/authenticated-principal';
import { pauseSubscription, readSubscriptionStatuses, requestRetry, resumeSubscription, skipFailingEvent, SubscriptionStatus } from '../../event-store';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS, invalidFields, type ProblemCause } from '../../http/openapi/problem-causes';
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
const EXAMPLE_ID = 'projection:order-summaries';
const ID_PARAM = ApiParam({
  name: 'id',
  description: 'the subscription id, e.g. `projection:order-summaries`, `reaction:order-fulfilment`, `relay:integration-events`',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,200}$', example: EXAMPLE_ID },
});
const MALFORMED_ID = invalidFields([{ field: 'id', message: 'id must be a subscription id: letters, digits and ._:- (at most 200)' }], 'The id is not a subscription id');
const KNOWN = ['projection:order-summaries', 'reaction:order-credit', 'reaction:order-fulfilment', 'relay:integration-events'];
const NOT_FOUND = causeOf(new SubscriptionNotFoundError('projection:no-such-reader', KNOWN));
const STOPPED_AT = { eventId: EXAMPLE_IDS.event, globalPosition: 42, eventType: 'OrderPlaced' };
const notStopped = (action: string): ProblemCause => causeOf(new SubscriptionNotStoppedError(EXAMPLE_ID, action), 'The reader is not stopped at any event');

/**
 * The readers of the event store (projections, reactions, the relay), whichever process runs
 * them: what `npm run subscriptions` does, through the same functions. A retry, a skip or a
 * resume reaches the running processes at once (NOTIFY).
 */
@ApiTags('Admin: subscriptions')
@Controller('admin/subscriptions')
export class SubscriptionsController {
  private readonly logger = new Logger('Admin');

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Get()
  @RequireScopes('admin')
  @ApiOperation({ operationId: 'listSubscriptions', summary: 'List every reader of the event store with its position, lag and state' })
  @ApiOkResponse({ type: SubscriptionListResponse, description: 'Every subscription, by id; `npm run subscriptions -- list`' })
  async list(): Promise<SubscriptionListResponse> {
    return { items: (await readSubscriptionStatuses(this.dataSource)).map(toStatusResponse) };
  }

  @Get(':id')
  @RequireScopes('admin')
  @ID_PARAM
  @ApiOperation({ operationId: 'getSubscription', summary: "Show one reader's position, lag and state" })
  @ApiOkResponse({ type: SubscriptionStatusResponse, description: 'Its checkpoint, lag, failure (when stopped) and pause (when paused)' })
  @ApiProblems(MALFORMED_ID, NOT_FOUND)
  async get(@Param('id', subscriptionId) id: string): Promise<SubscriptionStatusResponse> {
    return toStatusResponse(await this.status(id));
  }

  @Post(':id/retry')
  @RequireScopes('admin')
  @ID_PARAM
  @HttpCode(202)
  @ApiOperation({ operationId: 'retrySubscription', summary: 'Make a stopped reader try the event it is stopped at again, now (fix the cause first)' })
  @ApiAcceptedResponse({
    type: SubscriptionStatusResponse,
    description: 'Every process running it was woken and tries the event at once; its state as it was when asked (GET it to follow)',
  })
  @ApiProblems(MALFORMED_ID, NOT_FOUND, notStopped('retry'))
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
  @ApiOperation({ operationId: 'skipSubscriptionEvent', summary: 'Move a stopped reader past the event it is stopped at (recorded: who, when, why)' })
  @ApiOkResponse({
    type: SkippedEventResponse,
    description: 'The checkpoint is past the event (nothing before it was skipped), `skipped_events` records it, and the reader goes on at once',
  })
  @ApiProblems(
    MALFORMED_ID,
    invalidFields([{ field: 'eventId', message: 'eventId must be a UUID' }]),
    NOT_FOUND,
    notStopped('skip'),
    causeOf(new SubscriptionStoppedAtAnotherEventError(EXAMPLE_ID, STOPPED_AT, '6c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f'), 'The reader is stopped at another event'),
  )
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
    operationId: 'pauseSubscription',
    summary: 'Pause a reader in every process, durably, until resumed',
    description:
      'Its checkpoint stays; it takes no further event, across restarts. A projection commits the batch it is applying before this answers; ' +
      'a reaction or the relay finishes the batch it is working on. Its lag grows (admission control does not count it). ' +
      'The events wait in the store: nothing is lost.',
  })
  @ApiOkResponse({ type: SubscriptionStatusResponse, description: 'Paused; its state now' })
  @ApiProblems(
    MALFORMED_ID,
    invalidFields([{ field: 'reason', message: 'reason must not be blank' }]),
    NOT_FOUND,
    causeOf(new SubscriptionAlreadyPausedError(EXAMPLE_ID, { by: 'ops-ada', reason: 'credit service maintenance', since: new Date('2026-11-23T09:59:42.000Z') })),
  )
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
  @ApiOperation({ operationId: 'resumeSubscription', summary: 'Let a paused reader go on from its checkpoint' })
  @ApiOkResponse({ type: SubscriptionStatusResponse, description: 'Resumed: every process running it looks at once; its state now' })
  @ApiProblems(MALFORMED_ID, NOT_FOUND, causeOf(new SubscriptionNotPausedError(EXAMPLE_ID)))
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
