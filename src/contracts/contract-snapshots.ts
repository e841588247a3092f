import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractPayloadSchema, type JsonSchema } from './contract-schema';
import type { IntegrationEventContract } from './index';
import { type ContractRules, contractRules } from './contract-rules';
import { compareContractRules } from './rule-compatibility';
import { compareContractSchemas } from './schema-compatibility';

/** The command that writes missing snapshots, records compatible additions and the rules of a snapshot without them. */
export const SNAPSHOT_COMMAND = 'npm run contracts:snapshot';

/**
 * Where the snapshot (payload schema and validation rules) of every published contract version is kept, one `<type>.json` each,
 * committed: the source tree's folder, also when run from `dist` (the JSON files are not built).
 */
export const SNAPSHOT_DIRECTORY = join(__dirname.replace(/[\\/]dist([\\/]src[\\/]contracts)$/, '$1'), 'snapshots');

export function snapshotFileName(type: string): string {
  return `${type}.json`;
}

/**
 * What a snapshot file holds: the payload schema of the published version and every property's
 * class-validator rules (see contractRules), which show what the schema cannot (`@IsUUID('4')`).
 * `rules` is null for a file written before snapshots recorded them (the bare schema):
 * `npm run contracts:snapshot` records them once, from the contract as it is then.
 */
export interface ContractSnapshot {
  schema: JsonSchema;
  rules: ContractRules | null;
}

/** What comparing the contracts with their snapshots found. */
export interface SnapshotCheck {
  /** Each fails CI: an incompatible change, a version without snapshot, a snapshot without contract or without rules. */
  problems: string[];
  /** Compatible changes not yet recorded in a snapshot (reported, accepted). */
  additions: string[];
  /** The schema and rules each contract has now, by type (what the snapshot command writes). */
  current: Map<string, ContractSnapshot>;
}

/** One contract version measured against its snapshot. */
interface Examination {
  type: string;
  current: ContractSnapshot;
  published: ContractSnapshot | undefined;
  breaking: string[];
  additions: string[];
}

function examine(type: string, contract: IntegrationEventContract, published: ContractSnapshot | undefined): Examination {
  const current = { schema: contractPayloadSchema(contract), rules: contractRules(contract) };
  if (!published) return { type, current, published, breaking: [], additions: [] };
  const { breaking, additions } = compareContractSchemas(published.schema, current.schema);
  if (published.rules) {
    const reported = breaking.map((message) => message.slice(0, message.indexOf(': ')));
    breaking.push(...compareContractRules(published.rules, current.rules, reported));
  }
  return { type, current, published, breaking, additions };
}

function problemsOf({ type, published, breaking }: Examination): string[] {
  if (!published) return [`${type}: no snapshot of this contract version; run \`${SNAPSHOT_COMMAND}\` to write ${snapshotFileName(type)} and commit it`];
  const problems: string[] = [];
  if (breaking.length > 0) {
    problems.push(
      `${type} changed incompatibly since it was published:\n  ${breaking.join('\n  ')}\n` +
        `  A published contract version is frozen: publish a new version (${nextVersion(type)}) instead, next to this one, and keep this one as it was.`,
    );
  }
  if (!published.rules) problems.push(`${type}: ${snapshotFileName(type)} records no validation rules (written before snapshots held them); ${RECORD_RULES}`);
  return problems;
}

const RECORD_RULES = `run \`${SNAPSHOT_COMMAND}\` once to record the contract's current rules, check they are the published ones, and commit it`;

/**
 * Compares every contract with the snapshot of its published version: an incompatible change to
 * the schema (see compareContractSchemas) or to any existing property's rules (see
 * compareContractRules) is a problem that says to publish a new version instead; so is a contract
 * with no snapshot yet and a snapshot without rules (each naming the command that writes it), and
 * a snapshot whose contract is gone (a published version withdrawn).
 */
export function checkContractSnapshots(contracts: ReadonlyMap<string, IntegrationEventContract>, snapshots: ReadonlyMap<string, ContractSnapshot>): SnapshotCheck {
  const check: SnapshotCheck = { problems: [], additions: [], current: new Map() };
  for (const [type, contract] of contracts) {
    const examination = examine(type, contract, snapshots.get(type));
    check.current.set(type, examination.current);
    check.problems.push(...problemsOf(examination));
    check.additions.push(...examination.additions.map((addition) => `${type}: ${addition}`));
  }
  check.problems.push(...withdrawn(contracts, snapshots));
  return check;
}

function withdrawn(contracts: ReadonlyMap<string, IntegrationEventContract>, snapshots: ReadonlyMap<string, ContractSnapshot>): string[] {
  return [...snapshots.keys()]
    .filter((type) => !contracts.has(type))
    .map(
      (type) =>
        `${type}: a snapshot of a published version whose contract is gone from INTEGRATION_EVENT_CONTRACTS; consumers may still await it. ` +
        `Withdrawing it is a decision: delete ${snapshotFileName(type)} in the same commit if it is one.`,
    );
}

/** Why the snapshot command writes a snapshot. */
export type SnapshotWriteReason = 'new version' | 'compatible additions' | 'rules recorded';

/** What `npm run contracts:snapshot` writes, and what it refuses to. */
export interface SnapshotPlan {
  /**
   * A snapshot for a version that has none; a published one with compatible additions recorded;
   * a published one written before snapshots held rules, now with the contract's rules.
   */
  writes: Array<{ type: string; snapshot: ContractSnapshot; because: SnapshotWriteReason }>;
  /** Problems no snapshot can fix (an incompatible change, a withdrawn version): printed, exit 1. */
  refused: string[];
}

/**
 * Plans the snapshot command: writes the snapshot of every version that has none, records a
 * published version's compatible additions (so removing such a field later is caught too), and
 * upgrades a snapshot without rules by recording the contract's current rules (once: from then
 * on they are compared like the schema). It never writes over an incompatible change, not even
 * to record rules: that one is refused with the check's message.
 */
export function planSnapshotWrites(contracts: ReadonlyMap<string, IntegrationEventContract>, snapshots: ReadonlyMap<string, ContractSnapshot>): SnapshotPlan {
  const plan: SnapshotPlan = { writes: [], refused: withdrawn(contracts, snapshots) };
  for (const [type, contract] of contracts) {
    const examination = examine(type, contract, snapshots.get(type));
    const because = writeReason(examination);
    if (because) plan.writes.push({ type, snapshot: examination.current, because });
    else plan.refused.push(...problemsOf(examination));
  }
  return plan;
}

function writeReason({ published, breaking, additions }: Examination): SnapshotWriteReason | undefined {
  if (!published) return 'new version';
  if (breaking.length > 0) return undefined;
  if (!published.rules) return 'rules recorded';
  return additions.length > 0 ? 'compatible additions' : undefined;
}

/** `com.example.orders.order-placed.v1` → `v2`. */
function nextVersion(type: string): string {
  const version = /\.v(\d+)$/.exec(type);
  return version ? `v${Number(version[1]) + 1}` : 'a new type';
}

/** Every snapshot in `directory`, by the type its file is named after. */
export function readSnapshots(directory = SNAPSHOT_DIRECTORY): Map<string, ContractSnapshot> {
  const snapshots = new Map<string, ContractSnapshot>();
  if (!existsSync(directory)) return snapshots;
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.json')).sort()) {
    snapshots.set(file.slice(0, -'.json'.length), parseSnapshot(JSON.parse(readFileSync(join(directory, file), 'utf8')) as JsonSchema));
  }
  return snapshots;
}

/** `{ schema, rules }`, or a bare schema: a snapshot written before snapshots held rules. */
function parseSnapshot(json: JsonSchema): ContractSnapshot {
  const isCurrentShape = typeof json.schema === 'object' && json.schema !== null && typeof json.rules === 'object' && json.rules !== null;
  return isCurrentShape ? { schema: json.schema as JsonSchema, rules: json.rules as unknown as ContractRules } : { schema: json, rules: null };
}

export function writeSnapshot(type: string, snapshot: ContractSnapshot, directory = SNAPSHOT_DIRECTORY): void {
  writeFileSync(join(directory, snapshotFileName(type)), `${JSON.stringify({ schema: snapshot.schema, rules: snapshot.rules }, null, 2)}\n`);
}
