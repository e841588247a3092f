import { Command } from '@nestjs/cqrs';
import { CommandMetadata } from '../../../event-store';

/**
 * Sent by the order saga when it handles `OrderPlaced`: from now on the order waits at most
 * `ORDER_CONFIRMATION_TIMEOUT_MS` for its credit answer. The metadata names the OrderPlaced event.
 */
export class ScheduleOrderDeadlineCommand extends Command<void> {
  constructor(
    readonly orderId: string,
    readonly metadata: CommandMetadata,
  ) {
    super();
  }
}
