import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store/event-metadata';
import type { OrderLine } from '../../domain/order';

export class PlaceOrderCommand extends Command<{ id: string }> {
  constructor(
    readonly customerId: string,
    readonly currency: string,
    readonly lines: OrderLine[],
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
