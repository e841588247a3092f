import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../../auth/access.decorators';
import { ApiProblems } from '../../http/openapi/api-problems.decorator';
import { causeOf, EXAMPLE_IDS, MALFORMED_UUID } from '../../http/openapi/problem-causes';
import { DomainError } from '../../shared/domain-error';
import { EventStreamReader } from '../event-stream.reader';
import { StreamResponse } from './stream.response';
import { CanonicalUuidPipe } from '../../http/canonical-uuid';

export class StreamNotFoundError extends DomainError {
  readonly code = 'STREAM_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(streamId: string) {
    super(`no events are stored for ${streamId}`);
  }
}

@ApiTags('Audit trail')
@Controller('streams')
export class StreamsController {
  constructor(private readonly reader: EventStreamReader) {}

  @Get(':id/events')
  @RequireScopes('admin')
  @ApiOperation({
    operationId: 'listStreamEvents',
    summary: 'Read the audit trail of one aggregate: every event stored for it, oldest first',
    description: 'Each event with its type, versions, payload, the correlation and causation ids that tie it to the request that caused it, and a link to that request\'s flow (`links.flow`).',
  })
  @ApiParam({ name: 'id', format: 'uuid', description: 'the aggregate (a user or an order id)', example: EXAMPLE_IDS.order })
  @ApiOkResponse({ type: StreamResponse, description: 'The stored events of one aggregate, oldest first, each with a link to the flow of its request' })
  @ApiProblems(MALFORMED_UUID, causeOf(new StreamNotFoundError(EXAMPLE_IDS.order)))
  async events(@Param('id', new CanonicalUuidPipe()) id: string): Promise<StreamResponse> {
    const events = await this.reader.readStream(id);
    if (events.length === 0) throw new StreamNotFoundError(id);
    return {
      streamId: id,
      streamType: events[0].streamType,
      version: events[events.length - 1].streamVersion,
      events: events.map((event) => ({
        position: event.position,
        eventId: event.eventId,
        type: event.eventType,
        streamVersion: event.streamVersion,
        schemaVersion: event.schemaVersion,
        payload: event.payload,
        metadata: event.metadata,
        recordedAt: event.recordedAt.toISOString(),
        // GET /flows/{correlationId} (src/flows): the ids are URL-safe by construction (isCorrelationId).
        links: { flow: `/flows/${encodeURIComponent(event.metadata.correlationId)}` },
      })),
    };
  }
}
