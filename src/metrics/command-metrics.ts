import { Injectable, OnModuleInit } from '@nestjs/common';
import { CommandBus, ICommand } from '@nestjs/cqrs';
import { Counter } from 'prom-client';
import { DomainError } from '../shared/domain-error';
import { MetricsRegistry } from './metrics-registry';

type CommandLabels = 'command' | 'outcome' | 'error';

/**
 * `eda_commands_total{command, outcome, error}`: every command the CommandBus runs, from HTTP,
 * a saga step or a deadline alike. `command` is its class (`PlaceOrderCommand`); `outcome` is
 * `success`, `rejected` (a DomainError: `error` is its stable code, `ORDER_NOT_FOUND`) or
 * `failed` (anything else: a bug, the database). Counted when the handler settles, whether or
 * not an outer transaction commits afterwards.
 *
 * The one place every command passes through is `CommandBus.execute`; this wraps that method of
 * the app's bus once, at start, instead of touching every handler.
 */
@Injectable()
export class CommandMetrics implements OnModuleInit {
  private readonly commands: Counter<CommandLabels>;

  constructor(
    registry: MetricsRegistry,
    private readonly bus: CommandBus,
  ) {
    this.commands = new Counter({
      name: 'eda_commands_total',
      help: 'Commands run on the CommandBus, by command class and outcome (success, rejected with a domain error code, failed)',
      labelNames: ['command', 'outcome', 'error'],
      registers: [registry],
    });
  }

  onModuleInit(): void {
    const execute = this.bus.execute.bind(this.bus) as (command: ICommand, context?: unknown) => Promise<unknown>;
    const counted = async (command: ICommand, context?: unknown): Promise<unknown> => {
      const name = command.constructor.name;
      try {
        const result = await execute(command, context);
        this.commands.inc({ command: name, outcome: 'success' });
        return result;
      } catch (error) {
        this.commands.inc(
          error instanceof DomainError ? { command: name, outcome: 'rejected', error: error.code } : { command: name, outcome: 'failed' },
        );
        throw error;
      }
    };
    this.bus.execute = counted as CommandBus['execute'];
  }
}
