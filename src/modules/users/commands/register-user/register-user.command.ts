import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store/event-metadata';

export class RegisterUserCommand extends Command<{ id: string }> {
  constructor(
    readonly email: string,
    readonly name: string,
    readonly creditLimit: number | undefined,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
