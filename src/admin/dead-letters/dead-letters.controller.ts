import { Controller, Get, HttpCode, Logger, Param, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../../auth/access.decorators';
import { AuthenticatedSubject } from '../../auth/authenticated-principal';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS } from '../../http/openapi/problem-causes';
import { BrokerUnavailableError, DeadLetterQueue, RedriveOutcome, RedriveSelection } from '../../messaging/dead-letters/dead-letter-queue';
import { IntegrationEventPublisher } from '../../messaging/integration-event-publisher';
import { DeadLetterNotFoundError, DeadLettersNotRoutedError, DeadLettersUnavailableError } from '../admin.errors';
import { DEFAULT_LIST_LIMIT, INVALID_LIST_LIMIT, ListLimitRequest } from '../list-limit.request';
import { DeadLetterListResponse, RedriveResponse } from './dead-letter.response';

const DEAD_LETTER_QUEUE = 'eda.consumer.dead-letter';
const BROKER_DOWN = causeOf(new DeadLettersUnavailableError(), 'RabbitMQ cannot be reached');
const NOT_ROUTED = causeOf(new DeadLettersNotRoutedError({ matched: 3, redriven: 2, stillParked: 1 }, 'eda.consumer'), 'RabbitMQ did not route some redriven messages');
const BROKER_PROBLEMS = {
  description: { 503: 'RabbitMQ cannot be reached (nothing was read or moved), or it did not route a redriven message (that one stays parked)' },
};

/**
 * The consumer's dead-letter queue: what `npm run dead-letters` does, through the same code
 * (DeadLetterQueue). Served by the API, not the consumer app: the API is the one HTTP face behind
 * the load balancer (the consumer's binds 127.0.0.1 by default), it declares the same topology
 * and reads the queue's depth for /health already, and parked messages must be listed and
 * redriven also while no consumer runs, which is when they pile up.
 */
@ApiTags('Admin: dead letters')
@Controller('admin/dead-letters')
export class DeadLettersController {
  private readonly logger = new Logger('Admin');

  constructor(
    private readonly deadLetters: DeadLetterQueue,
    private readonly publisher: IntegrationEventPublisher,
  ) {}

  @Get()
  @RequireScopes('admin')
  @ApiOperation({
    operationId: 'listDeadLetters',
    summary: 'List the messages parked in the dead-letter queue',
    description: 'Reads them without taking them away (taken unacknowledged, then given back); oldest first.',
  })
  @ApiOkResponse({ type: DeadLetterListResponse, description: 'Id, type, attempts, when and last error of each; `npm run dead-letters -- list`' })
  @ApiProblems(INVALID_LIST_LIMIT, BROKER_PROBLEMS, BROKER_DOWN)
  async list(@Query() { limit }: ListLimitRequest): Promise<DeadLetterListResponse> {
    const { total, messages } = await this.broker(() => this.deadLetters.list(limit ?? DEFAULT_LIST_LIMIT));
    return { queue: this.deadLetters.name, total, items: messages };
  }

  @Post('redrive')
  @RequireScopes('admin')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'redriveDeadLetters',
    summary: 'Send every parked message back into processing',
    description: "Each goes back into the consumer queue with its attempts reset; the consumer's inbox drops one whose event it applied meanwhile.",
  })
  @ApiOkResponse({ type: RedriveResponse, description: 'Redriven (0 when none was parked); `npm run dead-letters -- redrive --all`' })
  @ApiProblems(BROKER_PROBLEMS, BROKER_DOWN, NOT_ROUTED)
  redriveAll(@AuthenticatedSubject() by: string): Promise<RedriveResponse> {
    return this.redrive({ all: true }, by);
  }

  @Post(':messageId/redrive')
  @RequireScopes('admin')
  @HttpCode(200)
  @ApiParam({ name: 'messageId', description: "the parked message's id (its `messageId` in the list)", example: EXAMPLE_IDS.event })
  @ApiOperation({ operationId: 'redriveDeadLetter', summary: 'Send the parked message with this id back into processing' })
  @ApiOkResponse({ type: RedriveResponse, description: 'Redriven; `npm run dead-letters -- redrive --id <id>`' })
  @ApiProblems(causeOf(new DeadLetterNotFoundError(EXAMPLE_IDS.event, DEAD_LETTER_QUEUE)), BROKER_PROBLEMS, BROKER_DOWN, NOT_ROUTED)
  redriveOne(@Param('messageId') messageId: string, @AuthenticatedSubject() by: string): Promise<RedriveResponse> {
    return this.redrive({ messageId }, by);
  }

  private async redrive(selection: RedriveSelection, by: string): Promise<RedriveResponse> {
    const outcome: RedriveOutcome = await this.broker(() => this.deadLetters.redrive(selection));
    const queue = this.publisher.topology.consumerQueue;
    if ('messageId' in selection && outcome.matched === 0) throw new DeadLetterNotFoundError(selection.messageId, this.deadLetters.name);
    const what = 'messageId' in selection ? `message ${selection.messageId}` : 'every parked message';
    this.logger.log(`${by} redrove ${what}: ${outcome.redriven} of ${outcome.matched} back into ${queue}`);
    if (outcome.stillParked > 0) throw new DeadLettersNotRoutedError(outcome, queue);
    return { matched: outcome.matched, redriven: outcome.redriven, queue };
  }

  private async broker<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof BrokerUnavailableError)) throw error;
      this.logger.warn(`dead-letter queue unavailable: ${error.message}`);
      throw new DeadLettersUnavailableError();
    }
  }
}
