import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store';

/** Sent when an order ships: its reservation becomes a charge. */
export class ConsumeCreditCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly orderId: string,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
