import 'reflect-metadata';
import { INTEGRATION_EVENT_CONTRACTS } from '../contracts';
import { planSnapshotWrites, readSnapshots, SNAPSHOT_DIRECTORY, snapshotFileName, writeSnapshot } from '../contracts/contract-snapshots';

/**
 * `npm run contracts:snapshot`: writes the snapshot of every contract version that has none, and
 * records compatible additions (a new optional field) in the snapshot of theirs; never writes over
 * an incompatible change (see planSnapshotWrites). Exit status: 0 every snapshot written or up to
 * date, 1 a problem left (printed: publish a new version instead).
 */
function main(): number {
  const plan = planSnapshotWrites(INTEGRATION_EVENT_CONTRACTS, readSnapshots());
  for (const { type, schema, because } of plan.writes) {
    writeSnapshot(type, schema);
    process.stdout.write(`wrote ${snapshotFileName(type)} (${because})\n`);
  }
  for (const problem of plan.refused) process.stderr.write(`${problem}\n`);
  if (plan.writes.length > 0) process.stdout.write(`commit the snapshots in ${SNAPSHOT_DIRECTORY}\n`);
  else if (plan.refused.length === 0) process.stdout.write(`every snapshot in ${SNAPSHOT_DIRECTORY} is up to date\n`);
  return plan.refused.length > 0 ? 1 : 0;
}

process.exitCode = main();
