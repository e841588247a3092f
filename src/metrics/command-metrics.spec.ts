import type { CommandBus } from '@nestjs/cqrs';
import { DomainError } from '../shared/domain-error';
import { CommandMetrics } from './command-metrics';
import { MetricsRegistry } from './metrics-registry';

class PlaceThingCommand {}

class ThingTakenError extends DomainError {
  readonly code = 'THING_TAKEN';
  readonly kind = 'conflict';
}

/** A bus whose handler answers `outcome`, with CommandMetrics wrapped around it. */
function countedBus(outcome: () => Promise<unknown>): { bus: CommandBus; registry: MetricsRegistry } {
  const bus = { execute: outcome } as unknown as CommandBus;
  const registry = new MetricsRegistry();
  new CommandMetrics(registry, bus).onModuleInit();
  return { bus, registry };
}

async function commandsTotal(registry: MetricsRegistry) {
  const metric = await registry.getSingleMetric('eda_commands_total')!.get();
  return metric.values.map(({ labels, value }) => ({ labels, value }));
}

describe('CommandMetrics', () => {
  it('counts a command that succeeded, and passes its result through', async () => {
    const { bus, registry } = countedBus(async () => ({ id: 'x' }));
    await expect(bus.execute(new PlaceThingCommand())).resolves.toEqual({ id: 'x' });
    expect(await commandsTotal(registry)).toEqual([{ labels: { command: 'PlaceThingCommand', outcome: 'success' }, value: 1 }]);
  });

  it('counts a domain error as rejected with its code, and rethrows it', async () => {
    const error = new ThingTakenError('taken');
    const { bus, registry } = countedBus(async () => Promise.reject(error));
    await expect(bus.execute(new PlaceThingCommand())).rejects.toBe(error);
    expect(await commandsTotal(registry)).toEqual([
      { labels: { command: 'PlaceThingCommand', outcome: 'rejected', error: 'THING_TAKEN' }, value: 1 },
    ]);
  });

  it('counts any other error as failed, and rethrows it', async () => {
    const error = new Error('connection terminated');
    const { bus, registry } = countedBus(async () => Promise.reject(error));
    await expect(bus.execute(new PlaceThingCommand())).rejects.toBe(error);
    expect(await commandsTotal(registry)).toEqual([{ labels: { command: 'PlaceThingCommand', outcome: 'failed' }, value: 1 }]);
  });
});
