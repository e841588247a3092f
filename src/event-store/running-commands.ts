import { AsyncLocalStorage } from 'node:async_hooks';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { CommandBus, ICommand } from '@nestjs/cqrs';
import { Clock } from '../shared/clock';
import { retryOnConcurrencyConflict } from '../shared/retry-on-conflict';
import { runId } from '../shared/run-id';
import type { CommandMetadata, CommandRecord } from './event-metadata';

/** The reaction step whose work is running (ReactionSubscription sets it around each step's work). */
export interface RunningStep {
  reaction: string;
  step: string;
}

/** Where the work running here came from: set once where it enters, read by every command it sends. */
interface CommandOrigin {
  cause: CommandMetadata;
  step?: RunningStep;
}

const runningCommand = new AsyncLocalStorage<CommandRecord>();
const commandOrigin = new AsyncLocalStorage<CommandOrigin>();

/**
 * An aggregate was written outside any entry point that names its cause (an HTTP request, a
 * reaction step, a deadline, `withCommandCause`): its events would have no correlation id.
 */
export class MissingCommandCauseError extends Error {
  constructor() {
    super('no command cause: aggregates are written only inside an HTTP request, a reaction step, a deadline or withCommandCause(...)');
    this.name = MissingCommandCauseError.name;
  }
}

/** The innermost command the CommandBus is running here, if any: what AggregateWriter stores with its events. */
export function currentCommand(): CommandRecord | undefined {
  return runningCommand.getStore();
}

/**
 * Runs `work` so that every command it sends, and every command those send (ConfirmOrder's
 * ReleaseCredit), writes its events with `cause`: the correlation id, the causation id and, for
 * an HTTP request, the request. Called once where work enters: the HTTP request
 * (RequestCauseInterceptor), the deadline watcher, a CLI or a test.
 */
export function withCommandCause<T>(cause: CommandMetadata, work: () => T): T {
  return commandOrigin.run({ cause }, work);
}

/**
 * Runs a reaction step's work so that the commands it sends remember the step and are caused by
 * the event it reacts to (`cause`: its correlation id, and its id as causation id).
 */
export function inReactionStep<T>(step: RunningStep, cause: CommandMetadata, work: () => Promise<T>): Promise<T> {
  return commandOrigin.run({ cause, step }, work);
}

/**
 * The cause of the work running here (see withCommandCause).
 * @throws MissingCommandCauseError when no entry point set one: never a correlation id made up here.
 */
export function commandCause(): CommandMetadata {
  const origin = commandOrigin.getStore();
  if (!origin) throw new MissingCommandCauseError();
  return origin.cause;
}

/**
 * The one place every command passes through, `CommandBus.execute`, wrapped once at start (as
 * CommandTracing and CommandMetrics do, around this), for two things:
 *
 * - It remembers every command the CommandBus runs, from HTTP, a reaction step or a deadline
 *   alike: an id of the run, its class, when it began, and the reaction step that sent it, so the
 *   events it writes can say which command wrote them (EventMetadata.command) and GET
 *   /flows/{correlationId} can draw the command between its cause and its events. The cost is an
 *   AsyncLocalStorage scope per command and a few dozen bytes in the metadata of each event.
 * - It reruns a command that lost an optimistic race (retryOnConcurrencyConflict, inside the one
 *   record, span and metric of the command): each command is a unit of work, load → decide →
 *   save, so deciding again on the latest state is right. Only the outermost command is rerun; one
 *   sent inside it (ConfirmOrder's ReleaseCredit) is rerun with it. Inside a caller's transaction
 *   (a reaction step, an idempotent request, a deadline) the rerun reads what committed meanwhile
 *   (READ COMMITTED) and the transaction goes on. No handler, reaction or watcher retries on its own.
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
      const outer = runningCommand.getStore();
      const step = commandOrigin.getStore()?.step;
      const record: CommandRecord = { id: runId(), name: command.constructor.name, startedAt: this.clock.now().toISOString(), ...step };
      const run = () => execute(command, context);
      return runningCommand.run(record, () => (outer ? run() : retryOnConcurrencyConflict(run)));
    };
    this.bus.execute = recorded as CommandBus['execute'];
  }
}
