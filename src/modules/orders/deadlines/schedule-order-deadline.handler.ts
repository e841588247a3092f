import { ConfigService } from '@nestjs/config';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { Environment } from '../../../config/environment';
import { OrderDeadlines } from './order-deadlines';
import { ScheduleOrderDeadlineCommand } from './schedule-order-deadline.command';

@CommandHandler(ScheduleOrderDeadlineCommand)
export class ScheduleOrderDeadlineHandler implements ICommandHandler<ScheduleOrderDeadlineCommand> {
  private readonly timeoutMs: number;

  constructor(
    private readonly deadlines: OrderDeadlines,
    config: ConfigService<Environment, true>,
  ) {
    this.timeoutMs = config.get('ORDER_CONFIRMATION_TIMEOUT_MS', { infer: true });
  }

  execute({ orderId }: ScheduleOrderDeadlineCommand): Promise<void> {
    return this.deadlines.schedule(orderId, this.timeoutMs);
  }
}
