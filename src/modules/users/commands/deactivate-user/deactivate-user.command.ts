import { Command } from '@nestjs/cqrs';

/** Answers the user's new stream version. */
export class DeactivateUserCommand extends Command<{ version: number }> {
  constructor(
    readonly userId: string,
    /** The version the caller based this on (`If-Match`); undefined: whatever is current. */
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
