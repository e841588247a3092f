import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store/event-metadata';

export class ConfirmOrderCommand extends Command<void> {
  constructor(
    readonly orderId: string,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
