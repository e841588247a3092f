import { Injectable, OnModuleInit } from '@nestjs/common';
import { CommandBus, ICommand } from '@nestjs/cqrs';
import { inSpan } from './spans';

/**
 * A span per command the CommandBus runs, from HTTP, a saga step or a deadline alike, named by
 * the command's class (`PlaceOrderCommand`), a child of the active span (the HTTP request's, the
 * reaction step's). The events the command writes carry this span's context in their metadata
 * (AggregateWriter), and so does everything that follows from them.
 *
 * The one place every command passes through is `CommandBus.execute`; this wraps that method of
 * the app's bus once, at start.
 */
@Injectable()
export class CommandTracing implements OnModuleInit {
  constructor(private readonly bus: CommandBus) {}

  onModuleInit(): void {
    const execute = this.bus.execute.bind(this.bus) as (command: ICommand, context?: unknown) => Promise<unknown>;
    const traced = (command: ICommand, context?: unknown): Promise<unknown> => {
      const name = command.constructor.name;
      return inSpan(name, { attributes: { 'eda.command': name } }, () => execute(command, context));
    };
    this.bus.execute = traced as CommandBus['execute'];
  }
}
