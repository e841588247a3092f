import { Injectable } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { EntityManager } from 'typeorm';
import type { ReceivedEvent } from '../inbox/received-event';
import { InboxReadModel, type ReadModel, ReadModels } from './read-model';

const applied: string[] = [];

@InboxReadModel()
@Injectable()
class First implements ReadModel {
  async apply(events: readonly ReceivedEvent[]): Promise<void> {
    applied.push(`first:${events.length}`);
  }
}

@InboxReadModel()
@Injectable()
class Failing implements ReadModel {
  async apply(): Promise<void> {
    applied.push('failing');
    throw new Error('no such table');
  }
}

@InboxReadModel()
@Injectable()
class Last implements ReadModel {
  async apply(events: readonly ReceivedEvent[]): Promise<void> {
    applied.push(`last:${events.length}`);
  }
}

@Injectable()
class NotAReadModel {
  async apply(): Promise<void> {
    applied.push('unmarked');
  }
}

async function readModels(...providers: Array<new () => object>): Promise<ReadModels> {
  // Compiled, never initialized: like a consumer started with startAllMicroservices() alone.
  const module = await Test.createTestingModule({ imports: [DiscoveryModule], providers: [ReadModels, ...providers] }).compile();
  return module.get(ReadModels);
}

const db = {} as EntityManager;
const event = { eventId: 'e1' } as ReceivedEvent;

describe('the read models the inbox applies', () => {
  beforeEach(() => applied.splice(0));

  it('applies every marked provider, in the order the module lists them, and no other', async () => {
    const models = await readModels(Last, NotAReadModel, First);
    await models.apply([event, event], db);
    expect(applied).toEqual(['last:2', 'first:2']);
  });

  it('stops at the first that throws and passes its error on', async () => {
    const models = await readModels(First, Failing, Last);
    await expect(models.apply([event], db)).rejects.toThrow('no such table');
    expect(applied).toEqual(['first:1', 'failing']);
  });

  it('refuses to apply when no read model is registered, instead of recording events nothing applied', async () => {
    // Before, the inbox injected its read models: a missing one failed the start. Found by a
    // marker, a missing or unmarked one would let the inbox record events as applied, for good.
    const models = await readModels(NotAReadModel);
    await expect(models.apply([event], db)).rejects.toThrow(/no read model/);
    expect(applied).toEqual([]);
  });
});
