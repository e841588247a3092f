import { IsInt, IsISO8601, IsNumber, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';
import { checkContractSnapshots, planSnapshotWrites, readSnapshots, SNAPSHOT_COMMAND } from './contract-snapshots';
import { INTEGRATION_EVENT_CONTRACTS, type IntegrationEventContract, OrderPlacedV1, OrderShippedV1 } from './index';

const published = readSnapshots();

describe('the published contract versions (CI guard)', () => {
  it('every contract version matches the snapshot of what was published', () => {
    const check = checkContractSnapshots(INTEGRATION_EVENT_CONTRACTS, published);
    if (check.additions.length > 0) {
      console.warn(`Compatible additions, not yet in a snapshot (\`${SNAPSHOT_COMMAND}\` records them):\n  ${check.additions.join('\n  ')}`);
    }
    if (check.problems.length > 0) throw new Error(check.problems.join('\n\n'));
  });

  it('has a snapshot for every version in the registry and none besides', () => {
    expect([...published.keys()].sort()).toEqual([...INTEGRATION_EVENT_CONTRACTS.keys()].sort());
  });
});

// Copies of real contracts, edited here: the real ones stay as published.

/** OrderShippedV1 with `total` a number instead of an integer and `shippedAt` gone. */
class OrderShippedV1Edited {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsNumber() @Min(0) total: number;
}

/** OrderShippedV1 whose total gets an upper bound. */
class OrderShippedV1Bounded {
  static readonly type = OrderShippedV1.type;
  @IsUUID() orderId: string;
  @IsUUID() customerId: string;
  @IsInt() @Min(0) @Max(1_000_000) total: number;
  @IsISO8601() shippedAt: string;
}

/** OrderPlacedV1 with a new optional field. */
class OrderPlacedV1WithNote extends OrderPlacedV1 {
  @IsOptional() @IsString() @Length(1, 500) note?: string;
}

/** A next version of OrderShipped, not published yet. */
class OrderShippedV2 {
  static readonly type = 'com.example.orders.order-shipped.v2';
  @IsUUID() orderId: string;
  @IsISO8601() shippedAt: string;
}

function withContract(contract: IntegrationEventContract, type = contract.type): Map<string, IntegrationEventContract> {
  return new Map([...INTEGRATION_EVENT_CONTRACTS, [type, contract]]);
}

describe('checking contracts against their snapshots', () => {
  it('refuses an incompatible edit of a v1 contract and says to publish v2 instead', () => {
    const { problems } = checkContractSnapshots(withContract(OrderShippedV1Edited), published);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('com.example.orders.order-shipped.v1 changed incompatibly since it was published');
    expect(problems[0]).toContain('data.total: type changed from "integer" to "number"');
    expect(problems[0]).toContain('data.shippedAt: removed or renamed');
    expect(problems[0]).toContain('publish a new version (v2) instead');
  });

  it('refuses a tightened constraint', () => {
    const { problems } = checkContractSnapshots(withContract(OrderShippedV1Bounded), published);
    expect(problems).toEqual([expect.stringContaining('data.total: maximum added: 1000000 (constraint tightened')]);
  });

  it('accepts a new optional field and reports it', () => {
    const check = checkContractSnapshots(withContract(OrderPlacedV1WithNote, OrderPlacedV1.type), published);
    expect(check.problems).toEqual([]);
    expect(check.additions).toEqual(['com.example.orders.order-placed.v1: data.note: new optional field']);
  });

  it('refuses a new contract version without a snapshot, naming the command that writes it', () => {
    const { problems } = checkContractSnapshots(withContract(OrderShippedV2), published);
    expect(problems).toEqual([
      `com.example.orders.order-shipped.v2: no snapshot of this contract version; run \`${SNAPSHOT_COMMAND}\` to write com.example.orders.order-shipped.v2.json and commit it`,
    ]);
    expect(SNAPSHOT_COMMAND).toBe('npm run contracts:snapshot');
  });

  it('refuses a published version whose contract is gone', () => {
    const contracts = new Map(INTEGRATION_EVENT_CONTRACTS);
    contracts.delete(OrderShippedV1.type);
    expect(checkContractSnapshots(contracts, published).problems).toEqual([
      expect.stringMatching(/^com\.example\.orders\.order-shipped\.v1: a snapshot of a published version whose contract is gone/),
    ]);
  });
});

describe('planning `npm run contracts:snapshot`', () => {
  it('writes nothing while every snapshot is up to date', () => {
    expect(planSnapshotWrites(INTEGRATION_EVENT_CONTRACTS, published)).toEqual({ writes: [], refused: [] });
  });

  it('writes the snapshot of a new version', () => {
    const plan = planSnapshotWrites(withContract(OrderShippedV2), published);
    expect(plan.writes.map(({ type, because }) => [type, because])).toEqual([['com.example.orders.order-shipped.v2', 'new version']]);
    expect(plan.refused).toEqual([]);
  });

  it('records a compatible addition in the published snapshot', () => {
    const plan = planSnapshotWrites(withContract(OrderPlacedV1WithNote, OrderPlacedV1.type), published);
    expect(plan.writes.map(({ type, because }) => [type, because])).toEqual([[OrderPlacedV1.type, 'compatible additions']]);
    expect(Object.keys((plan.writes[0].snapshot.schema.properties as object) ?? {})).toContain('note');
  });

  it('never writes over an incompatible change, and refuses it with the reason', () => {
    const plan = planSnapshotWrites(withContract(OrderShippedV1Edited), published);
    expect(plan.writes).toEqual([]);
    expect(plan.refused).toEqual([expect.stringContaining('publish a new version (v2) instead')]);
  });
});
