import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { CommandBus, ICommand } from '@nestjs/cqrs';
import { Clock } from '../shared/clock';
import type { CommandRecord } from './event-metadata';
import { runId } from './run-id';

/** The reaction step whose work is running (ReactionSubscription sets it around each step's work). */
export interface RunningStep {
  reaction: string;
  step: string;
}

const runningCommand = new AsyncLocalStorage<CommandRecord>();
const runningStep = new AsyncLocalStorage<RunningStep>();

/** The innermost command the CommandBus is running here, if any: what AggregateWriter stores with its events. */
export function currentCommand(): CommandRecord | undefined {
  return runningCommand.getStore();
}

/** Runs a reaction step's work so that the commands it sends remember the step. */
export function inReactionStep<T>(step: RunningStep, work: () => Promise<T>): Promise<T> {
  return runningStep.run(step, work);
}

/**
 * Remembers every command the CommandBus runs, from HTTP, a reaction step or a deadline alike:
 * an id of the run, its class, when it began, and the reaction step that sent it, so the events it writes can say
 * which command wrote them (EventMetadata.command) and GET /flows/{correlationId} can draw the
 * command between its cause and its events. The cost is an AsyncLocalStorage scope per command
 * and a few dozen bytes in the metadata of each event, written by the statement that appends it.
 *
 * The one place every command passes through is `CommandBus.execute`; this wraps that method of
 * the app's bus once, at start, as CommandTracing and CommandMetrics do.
 */
@Injectable()
export class RunningCommands implements OnModuleInit {
  constructor(
    private readonly bus: CommandBus,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    const execute = this.bus.execute.bind(this.bus) as (command: ICommand, context?: unknown) => Promise<unknown>;
    const recorded = (command: ICommand, context?: unknown): Promise<unknown> => {
      const step = runningStep.getStore();
      const record: CommandRecord = { id: runId(), name: command.constructor.name, startedAt: this.clock.now().toISOString(), ...step };
      return runningCommand.run(record, () => execute(command, context));
    };
    this.bus.execute = recorded as CommandBus['execute'];
  }
}
