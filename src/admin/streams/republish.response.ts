import { ApiProperty } from '@nestjs/swagger';

export class RepublishResponse {
  @ApiProperty({ format: 'uuid' })
  streamId: string;

  @ApiProperty({ type: 'integer', description: 'events stored in the stream' })
  events: number;

  @ApiProperty({ type: 'integer', description: "published again, in version order, each one confirmed by the broker (the consumer's inbox drops those it has)" })
  published: number;

  @ApiProperty({ type: 'integer', description: 'events no integration-event contract maps: nothing to publish' })
  skipped: number;
}
