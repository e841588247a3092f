import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RmqContext } from '@nestjs/microservices';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { DeliveryHandler } from './delivery-handler';
import { INTEGRATION_EVENT_PATTERN } from './integration-event-server';

@Controller()
export class IntegrationEventsController {
  constructor(private readonly deliveries: DeliveryHandler) {}

  @EventPattern(INTEGRATION_EVENT_PATTERN)
  handle(@Payload() body: unknown, @Ctx() context: unknown): Promise<void> {
    const rmq = context as RmqContext;
    return this.deliveries.handle(body, rmq.getMessage() as ConsumeMessage, rmq.getChannelRef() as ConfirmChannel);
  }
}
