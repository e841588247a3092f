import 'reflect-metadata';
import { INTEGRATION_EVENT_CONTRACTS } from '../contracts';
import { checkContractSnapshots, readSnapshots, SNAPSHOT_DIRECTORY, snapshotFileName, writeSnapshot } from '../contracts/contract-snapshots';
import { compareContractSchemas } from '../contracts/schema-compatibility';

/**
 * `npm run contracts:snapshot`: writes the snapshot of every contract version that has none, and
 * records compatible additions (a new optional field) in the snapshot of theirs. It never writes
 * over an incompatible change: that one exits 1 and says to publish a new version instead.
 * Exit status: 0 every snapshot written or up to date, 1 a problem left (printed).
 */
function main(): number {
  const snapshots = readSnapshots();
  const check = checkContractSnapshots(INTEGRATION_EVENT_CONTRACTS, snapshots);
  for (const [type, schema] of check.current) {
    const published = snapshots.get(type);
    const written = !published ? 'written' : compareContractSchemas(published, schema).breaking.length > 0 ? undefined : 'updated';
    if (!written || (published && JSON.stringify(published) === JSON.stringify(schema))) continue;
    writeSnapshot(type, schema);
    process.stdout.write(`${written} ${snapshotFileName(type)}\n`);
  }
  for (const addition of check.additions) process.stdout.write(`recorded: ${addition}\n`);
  const left = check.problems.filter((problem) => !problem.includes('no snapshot of this contract version'));
  for (const problem of left) process.stderr.write(`${problem}\n`);
  process.stdout.write(`snapshots in ${SNAPSHOT_DIRECTORY}: commit them\n`);
  return left.length > 0 ? 1 : 0;
}

process.exitCode = main();
