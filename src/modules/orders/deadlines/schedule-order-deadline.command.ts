import { Command } from '@nestjs/cqrs';

/**
 * Sent by the order saga when it handles `OrderPlaced`: from now on the order waits at most
 * `ORDER_CONFIRMATION_TIMEOUT_MS` for its credit answer. The deadline keeps the command's cause (the
 * OrderPlaced event), which becomes the cause of the rejection when it fires.
 */
export class ScheduleOrderDeadlineCommand extends Command<void> {
  constructor(
    readonly orderId: string,
  ) {
    super();
  }
}
