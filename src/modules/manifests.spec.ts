import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { INTEGRATION_EVENT_CONTRACTS, OrderPlacedV1, OrderShippedV1 } from '../contracts';
import { type EventStoreManifest, EventStoreManifests, type EventUpcaster, type StoredEvent } from '../event-store';
import { EVENT_STORE_MANIFESTS } from './manifests';

const MODULES_DIR = __dirname;

/** Every feature module: each directory of src/modules. */
function moduleNames(): string[] {
  return readdirSync(MODULES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

interface ExportedValue {
  file: string;
  name: string;
  value: unknown;
}

/** Every value exported by the modules' source files (specs left out), with where it comes from. */
async function exportedValues(): Promise<ExportedValue[]> {
  const exported: ExportedValue[] = [];
  for (const moduleName of moduleNames()) {
    const dir = join(MODULES_DIR, moduleName);
    const files = (readdirSync(dir, { recursive: true }) as string[]).filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'));
    for (const file of files) {
      const values = (await import(join(dir, file))) as Record<string, unknown>;
      for (const [name, value] of Object.entries(values)) exported.push({ file: `${moduleName}/${file}`, name, value });
    }
  }
  return exported;
}

function isManifest(value: unknown): value is EventStoreManifest {
  return typeof value === 'object' && value !== null && 'streamType' in value && 'eventClasses' in value && 'projections' in value;
}

/** A domain event class: a class naming its stored type (`static readonly type = 'OrderPlaced'`). */
function isEventClass(value: unknown): value is { type: string; name: string } {
  return typeof value === 'function' && typeof (value as { type?: unknown }).type === 'string';
}

function isUpcaster(value: unknown): value is EventUpcaster {
  const candidate = value as Partial<EventUpcaster> | null;
  return typeof value === 'object' && candidate !== null && typeof candidate.eventType === 'string' && typeof candidate.fromVersion === 'number' && typeof candidate.upcast === 'function';
}

/** What the modules declare but `manifests` leave out: event classes and upcasters no manifest lists. */
function undeclared(exported: readonly ExportedValue[], manifests: readonly EventStoreManifest[]): string[] {
  const classes = new Set<unknown>(manifests.flatMap((manifest) => manifest.eventClasses));
  const upcasters = new Set<unknown>(manifests.flatMap((manifest) => manifest.upcasters));
  return exported.flatMap(({ file, name, value }) => {
    if (isEventClass(value) && !classes.has(value)) return [`event class ${name} (${file})`];
    if (isUpcaster(value) && !upcasters.has(value)) return [`upcaster ${name} (${file})`];
    return [];
  });
}

describe('the modules’ event-store manifests (src/modules/manifests.ts)', () => {
  let exported: ExportedValue[];
  beforeAll(async () => {
    exported = await exportedValues();
  });

  it('each module exports exactly one manifest from its index.ts, and the list holds every one of them', async () => {
    for (const moduleName of moduleNames()) {
      const index = (await import(join(MODULES_DIR, moduleName, 'index.ts'))) as Record<string, unknown>;
      const manifests = Object.values(index).filter(isManifest);
      expect({ moduleName, manifests: manifests.length }).toEqual({ moduleName, manifests: 1 });
      expect(EVENT_STORE_MANIFESTS).toContain(manifests[0]);
    }
    expect(EVENT_STORE_MANIFESTS).toHaveLength(moduleNames().length);
  });

  it('every event class and every upcaster any module declares is in a manifest of the list', () => {
    expect(undeclared(exported, EVENT_STORE_MANIFESTS)).toEqual([]);
  });

  it('a list without a module’s manifest is caught: its event classes and upcasters are reported', () => {
    const withoutOrders = EVENT_STORE_MANIFESTS.filter((manifest) => manifest.streamType !== 'Order');

    const missing = undeclared(exported, withoutOrders);

    expect(missing).toEqual(expect.arrayContaining([expect.stringMatching(/^event class OrderPlacedEvent /), expect.stringMatching(/^upcaster orderPlacedV1ToV2 /)]));
    expect(missing.every((entry) => entry.includes('orders/'))).toBe(true);
  });

  it('no two manifests claim the same stream type, event type, projection, subscription or table', () => {
    expect(() => new EventStoreManifests(EVENT_STORE_MANIFESTS)).not.toThrow();
    const [users] = EVENT_STORE_MANIFESTS;
    expect(() => new EventStoreManifests([users, { ...users, streamType: 'Copy' }])).toThrow(/both declare event type UserRegistered/);
  });

  it('every projection handles only event types of its own manifest', () => {
    for (const manifest of EVENT_STORE_MANIFESTS) {
      const own = manifest.eventClasses.map(({ type }) => type);
      for (const projection of manifest.projections) expect(own).toEqual(expect.arrayContaining([...projection.canHandle]));
    }
  });
});

describe('the modules’ published language (each manifest’s publication table)', () => {
  const manifests = new EventStoreManifests(EVENT_STORE_MANIFESTS);
  const placed = {
    position: '1',
    eventId: '0199d3c4-0003-7000-8000-000000000001',
    streamType: 'Order',
    streamId: '0199d3c4-0003-7000-8000-000000000004',
    streamVersion: 1,
    eventType: 'OrderPlaced',
    schemaVersion: 2,
    payload: {
      orderId: '0199d3c4-0003-7000-8000-000000000004',
      customerId: '0199d3c4-0003-7000-8000-000000000005',
      lines: [{ sku: 'A-1', quantity: 2, unitPrice: 150 }],
      total: { amount: 300, currency: 'EUR' },
      placedAt: '2026-12-01T10:00:00.000Z',
    },
    metadata: { correlationId: 'c', causationId: 'c', occurredAt: '2026-12-01T10:00:00.000Z' },
  };

  it('publishes every contract of src/contracts from exactly one stored event type, and every stored event type as one contract', () => {
    const publishedBy = Object.fromEntries([...INTEGRATION_EVENT_CONTRACTS.values()].map((contract) => [contract.type, manifests.storedTypesPublishedAs(contract)]));
    expect(Object.values(publishedBy).every((storedTypes) => storedTypes.length === 1)).toBe(true);
    expect(Object.values(publishedBy).flat().sort()).toEqual(manifests.eventClasses.map(({ type }) => type).sort());
  });

  it('gives another module’s reaction the contract as an instance of its class, with the data the relay sends', () => {
    const contract = manifests.toContract(placed as unknown as StoredEvent, OrderPlacedV1);
    expect(contract).toBeInstanceOf(OrderPlacedV1);
    expect({ ...contract }).toEqual(manifests.toIntegrationEvent(placed as unknown as StoredEvent)?.data);
    expect(contract).toMatchObject({ total: 300, currency: 'EUR', lines: [{ sku: 'A-1', quantity: 2, unitPrice: 150 }] });
  });

  it('gives nothing for a contract the stored event is not published as', () => {
    expect(manifests.toContract(placed as unknown as StoredEvent, OrderShippedV1)).toBeUndefined();
    expect(manifests.toContract({ ...placed, streamType: 'Invoice' } as unknown as StoredEvent, OrderPlacedV1)).toBeUndefined();
  });
});
