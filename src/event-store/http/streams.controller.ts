import { Controller, Get, Param, ParseUUIDPipe } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { RequireScopes } from '../../auth/access.decorators';
import { ApiProblemResponses } from '../../http/api-problem-responses';
import { DomainError } from '../../shared/domain-error';
import { EventStreamReader } from '../event-stream.reader';
import { StreamResponse } from './stream.response';

export class StreamNotFoundError extends DomainError {
  readonly code = 'STREAM_NOT_FOUND';
  readonly kind = 'not-found';

  constructor(streamId: string) {
    super(`no events are stored for ${streamId}`);
  }
}

@ApiTags('event store')
@Controller('streams')
export class StreamsController {
  constructor(private readonly reader: EventStreamReader) {}

  @Get(':id/events')
  @RequireScopes('admin')
  @ApiOkResponse({ type: StreamResponse, description: 'The stored events of one aggregate, oldest first, each with a link to the flow of its request' })
  @ApiProblemResponses(400, 404)
  async events(@Param('id', new ParseUUIDPipe({ version: undefined })) id: string): Promise<StreamResponse> {
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
