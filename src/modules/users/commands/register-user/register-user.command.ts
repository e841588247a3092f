import { Command } from '@nestjs/cqrs';

/** Answers the new user's id and stream version. */
export class RegisterUserCommand extends Command<{ id: string; version: number }> {
  constructor(
    readonly email: string,
    readonly name: string,
    readonly creditLimit: number | undefined,
  ) {
    super();
  }
}
