import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store/event-metadata';

export class DeactivateUserCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
