import 'reflect-metadata';
import { INTEGRATION_EVENT_CONTRACTS, planSnapshotWrites, readSnapshots, SNAPSHOT_DIRECTORY, snapshotFileName, writeSnapshot } from '../contracts';

/**
 * `npm run contracts:snapshot`: writes the snapshot (schema and validation rules) of every
 * contract version that has none, records compatible additions (a new optional field) in the
 * snapshot of theirs, and adds the rules to a snapshot written before snapshots held them; never
 * writes over an incompatible change (see planSnapshotWrites). Exit status: 0 every snapshot written or up to
 * date, 1 a problem left (printed: publish a new version instead).
 */
function main(): number {
  const plan = planSnapshotWrites(INTEGRATION_EVENT_CONTRACTS, readSnapshots());
  for (const { type, snapshot, because } of plan.writes) {
    writeSnapshot(type, snapshot);
    process.stdout.write(`wrote ${snapshotFileName(type)} (${because})\n`);
  }
  for (const problem of plan.refused) process.stderr.write(`${problem}\n`);
  if (plan.writes.length > 0) process.stdout.write(`commit the snapshots in ${SNAPSHOT_DIRECTORY}\n`);
  else if (plan.refused.length === 0) process.stdout.write(`every snapshot in ${SNAPSHOT_DIRECTORY} is up to date\n`);
  return plan.refused.length > 0 ? 1 : 0;
}

process.exitCode = main();
