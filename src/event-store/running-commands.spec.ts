import type { CommandBus, ICommand } from '@nestjs/cqrs';
import { ConcurrencyConflictError, VersionMismatchError } from '../shared/domain-error';
import type { CommandRecord } from './event-metadata';
import { commandCause, currentCommand, inReactionStep, MissingCommandCauseError, RunningCommands, withCommandCause } from './running-commands';

class Outer implements ICommand {}
class Inner implements ICommand {}

/** A bus whose `execute` runs `handle` for each command, wrapped by RunningCommands. */
function busRunning(handle: (command: ICommand, bus: CommandBus) => Promise<unknown>): CommandBus {
  const bus = { execute: (command: ICommand) => handle(command, bus) } as unknown as CommandBus;
  new RunningCommands(bus, { now: () => new Date('2026-12-01T10:00:00.000Z') }).onModuleInit();
  return bus;
}

describe('RunningCommands', () => {
  it('reruns a command that lost an optimistic race, as one run of the command, at most 5 times', async () => {
    const records: Array<CommandRecord | undefined> = [];
    const bus = busRunning(async () => {
      records.push(currentCommand());
      throw new ConcurrencyConflictError('order-1');
    });
    await expect(bus.execute(new Outer())).rejects.toThrow(ConcurrencyConflictError);
    expect(records).toHaveLength(5);
    expect(new Set(records.map((record) => record?.id)).size).toBe(1);
  });

  it('answers what the rerun answers once it wins', async () => {
    let attempts = 0;
    const bus = busRunning(async () => {
      attempts += 1;
      if (attempts < 3) throw new ConcurrencyConflictError('order-1');
      return { version: 2 };
    });
    await expect(bus.execute(new Outer())).resolves.toEqual({ version: 2 });
    expect(attempts).toBe(3);
  });

  it('never reruns for another failure (a version the caller expected is a 412)', async () => {
    let attempts = 0;
    const bus = busRunning(async () => {
      attempts += 1;
      throw new VersionMismatchError('order-1', 1, 2);
    });
    await expect(bus.execute(new Outer())).rejects.toThrow(VersionMismatchError);
    expect(attempts).toBe(1);
  });

  it('reruns a command sent inside another only with the outer one', async () => {
    const runs: string[] = [];
    const bus = busRunning(async (command, self) => {
      runs.push(command.constructor.name);
      if (command instanceof Outer) return self.execute(new Inner());
      if (runs.length < 4) throw new ConcurrencyConflictError('user-1');
      return undefined;
    });
    await bus.execute(new Outer());
    expect(runs).toEqual(['Outer', 'Inner', 'Outer', 'Inner']);
  });

  it("gives nested commands the entry point's cause, and a reaction step's commands the step", async () => {
    const seen: Array<[string, string, string | undefined]> = [];
    const bus = busRunning(async (command, self) => {
      seen.push([command.constructor.name, commandCause().causationId, currentCommand()?.step]);
      if (command instanceof Outer) await self.execute(new Inner());
    });
    await inReactionStep({ reaction: 'reaction:test', step: 'confirm' }, { correlationId: 'c', causationId: 'event-1' }, () => bus.execute(new Outer()));
    await withCommandCause({ correlationId: 'c', causationId: 'request-1' }, () => bus.execute(new Inner()));
    expect(seen).toEqual([
      ['Outer', 'event-1', 'confirm'],
      ['Inner', 'event-1', 'confirm'],
      ['Inner', 'request-1', undefined],
    ]);
  });

  it('has no cause outside an entry point', () => {
    expect(() => commandCause()).toThrow(MissingCommandCauseError);
  });
});
