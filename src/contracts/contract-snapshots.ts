import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractPayloadSchema, type JsonSchema } from './contract-schema';
import type { IntegrationEventContract } from './index';
import { compareContractSchemas } from './schema-compatibility';

/** The command that writes missing snapshots and records compatible additions. */
export const SNAPSHOT_COMMAND = 'npm run contracts:snapshot';

/**
 * Where the payload schema of every published contract version is kept, one `<type>.json` each,
 * committed: the source tree's folder, also when run from `dist` (the JSON files are not built).
 */
export const SNAPSHOT_DIRECTORY = join(__dirname.replace(/[\\/]dist([\\/]src[\\/]contracts)$/, '$1'), 'snapshots');

export function snapshotFileName(type: string): string {
  return `${type}.json`;
}

/** What comparing the contracts with their snapshots found. */
export interface SnapshotCheck {
  /** Each fails CI: an incompatible change, a version without snapshot, a snapshot without contract. */
  problems: string[];
  /** Compatible changes not yet recorded in a snapshot (reported, accepted). */
  additions: string[];
  /** The schema each contract has now, by type (what the snapshot command writes). */
  current: Map<string, JsonSchema>;
}

/**
 * Compares every contract with the snapshot of its published version: an incompatible change
 * (see compareContractSchemas) is a problem that says to publish a new version instead; so is a
 * contract with no snapshot yet (naming the command that writes it) and a snapshot whose
 * contract is gone (a published version withdrawn).
 */
export function checkContractSnapshots(contracts: ReadonlyMap<string, IntegrationEventContract>, snapshots: ReadonlyMap<string, JsonSchema>): SnapshotCheck {
  const check: SnapshotCheck = { problems: [], additions: [], current: new Map() };
  for (const [type, contract] of contracts) {
    const schema = contractPayloadSchema(contract);
    check.current.set(type, schema);
    const published = snapshots.get(type);
    if (!published) {
      check.problems.push(`${type}: no snapshot of this contract version; run \`${SNAPSHOT_COMMAND}\` to write ${snapshotFileName(type)} and commit it`);
      continue;
    }
    const { breaking, additions } = compareContractSchemas(published, schema);
    if (breaking.length > 0) {
      check.problems.push(
        `${type} changed incompatibly since it was published:\n  ${breaking.join('\n  ')}\n` +
          `  A published contract version is frozen: publish a new version (${nextVersion(type)}) instead, next to this one, and keep this one as it was.`,
      );
    }
    check.additions.push(...additions.map((addition) => `${type}: ${addition}`));
  }
  for (const type of snapshots.keys()) {
    if (!contracts.has(type)) {
      check.problems.push(
        `${type}: a snapshot of a published version whose contract is gone from INTEGRATION_EVENT_CONTRACTS; consumers may still await it. ` +
          `Withdrawing it is a decision: delete ${snapshotFileName(type)} in the same commit if it is one.`,
      );
    }
  }
  return check;
}

/** What `npm run contracts:snapshot` writes, and what it refuses to. */
export interface SnapshotPlan {
  /** A snapshot for a version that has none, or a published one with compatible additions recorded. */
  writes: Array<{ type: string; schema: JsonSchema; because: 'new version' | 'compatible additions' }>;
  /** Problems no snapshot can fix (an incompatible change, a withdrawn version): printed, exit 1. */
  refused: string[];
}

/**
 * Plans the snapshot command: writes the snapshot of every version that has none and records a
 * published version's compatible additions (so removing such a field later is caught too), and
 * never writes over an incompatible change: that one is refused with the check's message.
 */
export function planSnapshotWrites(contracts: ReadonlyMap<string, IntegrationEventContract>, snapshots: ReadonlyMap<string, JsonSchema>): SnapshotPlan {
  const check = checkContractSnapshots(contracts, snapshots);
  const plan: SnapshotPlan = { writes: [], refused: [] };
  for (const [type, schema] of check.current) {
    const published = snapshots.get(type);
    if (!published) plan.writes.push({ type, schema, because: 'new version' });
    else if (check.additions.some((addition) => addition.startsWith(`${type}: `)) && compareContractSchemas(published, schema).breaking.length === 0) {
      plan.writes.push({ type, schema, because: 'compatible additions' });
    }
  }
  plan.refused = check.problems.filter((problem) => !plan.writes.some(({ type, because }) => because === 'new version' && problem.startsWith(`${type}: no snapshot`)));
  return plan;
}

/** `com.example.orders.order-placed.v1` → `v2`. */
function nextVersion(type: string): string {
  const version = /\.v(\d+)$/.exec(type);
  return version ? `v${Number(version[1]) + 1}` : 'a new type';
}

/** Every snapshot in `directory`, by the type its file is named after. */
export function readSnapshots(directory = SNAPSHOT_DIRECTORY): Map<string, JsonSchema> {
  const snapshots = new Map<string, JsonSchema>();
  if (!existsSync(directory)) return snapshots;
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.json')).sort()) {
    snapshots.set(file.slice(0, -'.json'.length), JSON.parse(readFileSync(join(directory, file), 'utf8')) as JsonSchema);
  }
  return snapshots;
}

export function writeSnapshot(type: string, schema: JsonSchema, directory = SNAPSHOT_DIRECTORY): void {
  writeFileSync(join(directory, snapshotFileName(type)), `${JSON.stringify(schema, null, 2)}\n`);
}
