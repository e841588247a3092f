import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';

const msPerTick = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const OTHER_DATABASES = 'postgres, other databases (not counted)';

/** utime + stime of a process (all its threads) in ms, or null when it is gone. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * msPerTick;
  } catch {
    return null;
  }
}

function uidOf(user) {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${user}:`));
  return line ? Number(line.split(':')[2]) : null;
}

function pidsOfUid(uid) {
  if (uid === null) return [];
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (statSync(`/proc/${name}`).uid === uid) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * CPU time per process group between two snapshots, read from /proc: the pipeline's own
 * processes (by pid), every process of the `postgres` user (the postmaster, its background
 * processes and every backend) and of the `rabbitmq` user (beam.smp, epmd, …), and this bench
 * process (the load generator, with its lag sampler). PostgreSQL serves other databases too: a
 * backend connected to a database that is not ours (per pg_stat_activity at either snapshot)
 * goes to a group of its own that is reported but left out of the total. A process that exits
 * between the snapshots loses its share; one that starts counts from 0.
 */
export function cpuMeter({ admin, databases, processes }) {
  const postgresUid = uidOf('postgres');
  const rabbitmqUid = uidOf('rabbitmq');
  async function snapshot() {
    const { rows } = await admin.query(`SELECT pid, datname FROM pg_stat_activity WHERE datname IS NOT NULL`);
    const ours = new Set(databases());
    const elsewhere = new Set(rows.filter((row) => !ours.has(row.datname)).map((row) => row.pid));
    const groups = new Map();
    for (const [group, pid] of Object.entries(processes())) groups.set(pid, group);
    for (const pid of pidsOfUid(postgresUid)) groups.set(pid, elsewhere.has(pid) ? OTHER_DATABASES : 'postgres');
    for (const pid of pidsOfUid(rabbitmqUid)) groups.set(pid, 'rabbitmq');
    groups.set(process.pid, 'load generator');
    const perPid = new Map();
    for (const [pid, group] of groups) {
      const ms = cpuMs(pid);
      if (ms !== null) perPid.set(pid, { group, ms });
    }
    return perPid;
  }

  /** { group: ms } from `before` to `after`; `total` leaves the other databases out. */
  function difference(before, after) {
    const byGroup = {};
    for (const [pid, { group, ms }] of after) {
      const earlier = before.get(pid);
      const name = earlier?.group === OTHER_DATABASES ? OTHER_DATABASES : group;
      byGroup[name] = (byGroup[name] ?? 0) + ms - (earlier?.ms ?? 0);
    }
    byGroup.total = Object.entries(byGroup).filter(([name]) => name !== OTHER_DATABASES).reduce((sum, [, ms]) => sum + ms, 0);
    return byGroup;
  }

  return { snapshot, difference };
}

export { OTHER_DATABASES };
