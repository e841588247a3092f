import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store/event-metadata';

export class ChangeUserEmailCommand extends Command<void> {
  constructor(
    readonly userId: string,
    readonly email: string,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
