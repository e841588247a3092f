import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store';

/** Answers the new user's id and stream version. */
export class RegisterUserCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly email: string,
    readonly name: string,
    readonly creditLimit: number | undefined,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
