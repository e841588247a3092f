import { Controller, HttpCode, Logger, Param, Post } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { RequireScopes } from '../../auth/access.decorators';
import { AuthenticatedSubject } from '../../auth/authenticated-principal';
import { Environment } from '../../config/environment';
import { EventUpcasters, StreamNotFoundError } from '../../event-store';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS, MALFORMED_UUID } from '../../http/openapi/problem-causes';
import { IntegrationEventMappers } from '../../messaging/integration-event-mappers';
import { IntegrationEventPublisher } from '../../messaging/integration-event-publisher';
import {
  describeUnpublishable,
  RepublishFailedError as RepublishStopped,
  republishStoredEvents,
  type UnpublishableEvent,
} from '../../messaging/republish/stored-event-republisher';
import { RepublishFailedError, RepublishIncompleteError } from '../admin.errors';
import { RepublishResponse } from './republish.response';
import { CanonicalUuidPipe } from '../../http/canonical-uuid';

/** Events read per query: one stream is the events of one aggregate, a few pages at most. */
const PAGE_SIZE = 500;

/** An example of an event the running code cannot read, for the document. */
const EXAMPLE_UNREADABLE: UnpublishableEvent = {
  eventId: EXAMPLE_IDS.event,
  position: '1042',
  eventType: 'OrderConfirmed',
  schemaVersion: 1,
  streamId: EXAMPLE_IDS.order,
  streamVersion: 2,
  failedAt: 'read',
  reason: 'UnreadableEventVersionError: … is stored at schema version 1, and this code reads OrderConfirmed only at v2: …',
};

/**
 * Publishes one stream's stored events again: what `npm run republish-events -- --stream <id>`
 * does, through the same code (republishStoredEvents), on this process's publishing connection.
 * A stream is one aggregate's events, so it is done within the request. Events this code cannot
 * read or map are not sent, the others are, and the answer is then a 409 naming each one (as the
 * CLI exits 3): a 200 would let a script take a stream with a hole for a repaired one.
 */
@ApiTags('Admin: event store')
@Controller('admin/streams')
export class StreamsRepublishController {
  private readonly logger = new Logger('Admin');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly publisher: IntegrationEventPublisher,
    private readonly mappers: IntegrationEventMappers,
    private readonly upcasters: EventUpcasters,
    private readonly config: ConfigService<Environment, true>,
  ) {}

  @Post(':id/republish')
  @RequireScopes('admin')
  @HttpCode(200)
  @ApiParam({ name: 'id', format: 'uuid', description: 'the stream: the id of its aggregate', example: EXAMPLE_IDS.order })
  @ApiOperation({
    operationId: 'republishStream',
    summary: "Publish a stream's integration events again, so that a consumer which lost messages gets them back",
    description: "In version order, as mandatory messages, each one confirmed by the broker; the consumer's inbox drops the events it has.",
  })
  @ApiOkResponse({ type: RepublishResponse, description: 'Every event of the stream that a contract maps was published and confirmed' })
  @ApiProblems(
    {
      description: {
        409: 'Some events of the stream cannot be read (a schema version no upcaster brings to the current one) or mapped to their contract by this code: those were NOT sent, every other one was, in version order, each confirmed. `detail` names each one (event id, position, stream version, type, schema version, why; the first 20, the log every one); repair them, then republish again',
        503: 'RabbitMQ stopped confirming: the events confirmed before stay published, republish again later',
      },
    },
    MALFORMED_UUID,
    causeOf(new StreamNotFoundError(EXAMPLE_IDS.order)),
    causeOf(
      new RepublishIncompleteError(EXAMPLE_IDS.order, { total: 3, published: 2, skipped: 0, unpublishable: [EXAMPLE_UNREADABLE] }),
      'An event of the stream cannot be read by this code: the others were published',
    ),
    causeOf(new RepublishFailedError(EXAMPLE_IDS.order, 2, 5), 'RabbitMQ stopped confirming'),
  )
  async republish(@Param('id', new CanonicalUuidPipe()) streamId: string, @AuthenticatedSubject() by: string): Promise<RepublishResponse> {
    const id = streamId.toLowerCase();
    try {
      const outcome = await republishStoredEvents(
        {
          dataSource: this.dataSource,
          publish: (message) => this.publisher.publish(message),
          mappers: this.mappers,
          upcasters: this.upcasters,
          maxInFlight: this.config.get('RELAY_MAX_IN_FLIGHT', { infer: true }),
        },
        { kind: 'stream', streamId: id },
        {
          batchSize: PAGE_SIZE,
          onUnpublishable: (event) => this.logger.warn(`${by} republishing stream ${id}: not sent: ${describeUnpublishable(event)}`),
        },
      );
      if (outcome.total === 0) throw new StreamNotFoundError(id);
      const unsent = outcome.unpublishable.length > 0 ? `, ${outcome.unpublishable.length} NOT sent (cannot be read or mapped)` : '';
      this.logger.log(`${by} republished stream ${id}: ${outcome.published} event(s) confirmed, ${outcome.skipped} without a contract${unsent}`);
      if (outcome.unpublishable.length > 0) throw new RepublishIncompleteError(id, outcome);
      return { streamId: id, events: outcome.total, published: outcome.published, skipped: outcome.skipped };
    } catch (error) {
      if (!(error instanceof RepublishStopped)) throw error;
      this.logger.warn(`${by} republishing stream ${id} stopped after ${error.published} confirmed event(s): ${error.message}`);
      const [{ total }] = await this.dataSource.query(`SELECT count(*)::int AS total FROM events WHERE stream_id = $1`, [id]);
      throw new RepublishFailedError(id, error.published, total, error.unpublishable);
    }
  }
}
