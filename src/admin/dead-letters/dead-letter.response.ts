import { ApiProperty } from '@nestjs/swagger';

export class DeadLetterResponse {
  @ApiProperty({ example: '0b7e6f1c-3f43-4d55-9b9e-8d4b3c2f6a10', description: 'the AMQP message id: the integration event\'s id; `(none)` without one' })
  messageId: string;

  @ApiProperty({ example: 'com.example.orders.order-placed.v1', description: 'the CloudEvents type, else the routing key it was first published with' })
  type: string;

  @ApiProperty({ type: 'integer', example: 5, description: 'deliveries the consumer tried (0: parked without a try, e.g. an invalid message)' })
  attempts: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'when the consumer parked it; null when RabbitMQ did (its delivery limit)' })
  deadLetteredAt: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'Error: notification service down', description: 'the last failure the consumer recorded' })
  lastError: string | null;
}

export class DeadLetterListResponse {
  @ApiProperty({ example: 'eda.consumer.dead-letter' })
  queue: string;

  @ApiProperty({ type: 'integer', description: 'messages the queue held when the listing began (the list holds at most `limit`, oldest first)' })
  total: number;

  @ApiProperty({ type: [DeadLetterResponse] })
  items: DeadLetterResponse[];
}

export class RedriveResponse {
  @ApiProperty({ type: 'integer', description: 'parked messages the request matched' })
  matched: number;

  @ApiProperty({ type: 'integer', description: 'sent back into the consumer queue (confirmed by the broker) and gone from the dead-letter queue' })
  redriven: number;

  @ApiProperty({ example: 'eda.consumer', description: 'where they went' })
  queue: string;
}
