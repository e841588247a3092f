import type { DataSource } from 'typeorm';
import { TransactionContext } from '../database/transaction-context';
import { Clock, IdGenerator } from '../shared/clock';
import { AggregateWriter } from './aggregate-writer';
import type { AppendedEventMetrics } from './appended-event-metrics';
import { EventAppendedSignal } from './event-appended-signal';
import type { EventMetadata } from './event-metadata';
import { MissingCommandCauseError, withCommandCause } from './running-commands';
import { VersionedAggregate } from './versioned-aggregate';

class ThingNamed {
  static readonly type = 'ThingNamed';
  constructor(readonly name: string) {}
}

class Thing extends VersionedAggregate {
  readonly id = 'thing-1';
  name(name: string): void {
    this.apply(new ThingNamed(name));
  }
}

const AT = new Date('2026-12-01T10:00:00.000Z');

function writerOver(query: jest.Mock): AggregateWriter {
  const clock: Clock = { now: () => AT };
  const ids: IdGenerator = { newId: () => 'event-1' };
  const metrics = { committed: jest.fn() } as unknown as AppendedEventMetrics;
  return new AggregateWriter({ query } as unknown as DataSource, clock, ids, new EventAppendedSignal(), new TransactionContext(), metrics);
}

function named(): Thing {
  const thing = new Thing();
  thing.name('first');
  return thing;
}

const table = { name: 'things', key: 'id', insertOnly: [] };
const row = { id: 'thing-1' };

describe('AggregateWriter', () => {
  it('refuses to write outside any cause, rather than make a correlation id up', async () => {
    const query = jest.fn().mockResolvedValue([{ rowsChanged: 1 }]);
    const thing = named();
    await expect(writerOver(query).write({ streamType: 'Thing', aggregate: thing, table, row })).rejects.toThrow(MissingCommandCauseError);
    expect(query).not.toHaveBeenCalled();
    expect(thing.getUncommittedEvents()).toHaveLength(1);
  });

  it('stores the cause the entry point set with the events, and the request it names', async () => {
    const query = jest.fn().mockResolvedValue([{ rowsChanged: 1 }]);
    const request = { id: 'r-1', method: 'POST', path: '/things', receivedAt: '2026-12-01T09:59:59.990Z' };
    const thing = named();
    await withCommandCause({ correlationId: 'corr-1', causationId: 'cause-1', request }, () =>
      writerOver(query).write({ streamType: 'Thing', aggregate: thing, table, row }),
    );
    const params = query.mock.calls[0][1] as unknown[];
    const metadata = JSON.parse(params[Object.keys(row).length + 2] as string) as EventMetadata;
    expect(metadata).toEqual({ correlationId: 'corr-1', causationId: 'cause-1', request, occurredAt: AT.toISOString() });
    expect(thing.version).toBe(1);
  });
});
