import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../../event-store';

/** Answers the user's new stream version. */
export class DeactivateUserCommand extends Command<{ version: number }> {
  constructor(
    readonly userId: string,
    readonly metadata: CommandMetadata,
    /** The version the caller based this on (`If-Match`); undefined: whatever is current. */
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
