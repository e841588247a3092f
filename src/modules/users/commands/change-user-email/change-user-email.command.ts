import { Command } from '@nestjs/cqrs';

/** Answers the user's stream version afterwards (unchanged when the email was already this one). */
export class ChangeUserEmailCommand extends Command<{ version: number }> {
  constructor(
    readonly userId: string,
    readonly email: string,
    /** The version the caller based this on (`If-Match`); undefined: whatever is current. */
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
