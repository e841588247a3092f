import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './consumer-process';

const run = promisify(execFile);

/** The newest installed server's binaries (Debian layout), or PG_BINDIR. */
export function postgresBinDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const versions = existsSync('/usr/lib/postgresql')
    ? readdirSync('/usr/lib/postgresql').filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error('no PostgreSQL server under /usr/lib/postgresql; set PG_BINDIR');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

function hasPostgresServerBinaries(): boolean {
  try {
    return existsSync(path.join(postgresBinDir(), 'initdb'));
  } catch {
    return false;
  }
}

/**
 * `describe` where PostgreSQL's server binaries are on this host (a throwaway cluster needs
 * initdb, pg_ctl, pg_dump and pg_restore), `describe.skip` where they are not, e.g. with PostgreSQL
 * in a container (`docker compose`). Never skipped in CI (`.ci/run` runs a local server): a
 * missing binary fails there.
 */
export const describeWithPostgresServerBinaries = hasPostgresServerBinaries() || process.env.CI === 'true' ? describe : describe.skip;

/** Runs a server binary; as root, as the `postgres` user (initdb and postgres refuse root). */
function runAsServerOwner(binary: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const file = path.join(postgresBinDir(), binary);
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
}

/**
 * A PostgreSQL cluster of its own (`initdb` into a temporary folder, trust authentication, on a
 * free port, no autovacuum): its transaction ids start over and nobody else's work moves its
 * counters. Stop it with `destroy()`.
 */
export class ThrowawayCluster {
  private constructor(
    private readonly folder: string,
    readonly port: number,
  ) {}

  static async start(): Promise<ThrowawayCluster> {
    const folder = mkdtempSync(path.join(tmpdir(), 'eda-cluster-'));
    if (process.getuid?.() === 0) chownSync(folder, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), 0);
    const port = await freePort();
    const cluster = new ThrowawayCluster(folder, port);
    try {
      await runAsServerOwner('initdb', ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '-N', '-E', 'UTF8']);
      await runAsServerOwner('pg_ctl', [
        '-D', cluster.dataDir, '-l', path.join(folder, 'server.log'), '-w', 'start',
        '-o', `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c autovacuum=off`,
      ]);
    } catch (error) {
      rmSync(folder, { recursive: true, force: true });
      throw error;
    }
    return cluster;
  }

  private get dataDir(): string {
    return path.join(this.folder, 'data');
  }

  /** postgres:// URL of `database` on this cluster. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async destroy(): Promise<void> {
    await runAsServerOwner('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(this.folder, { recursive: true, force: true });
  }
}

/** `pg_dump -Fc` of `fromUrl` restored into the (existing, empty) database `toUrl`. */
export async function copyDatabase(fromUrl: string, toUrl: string): Promise<void> {
  const bin = postgresBinDir();
  const dumpFile = path.join(mkdtempSync(path.join(tmpdir(), 'eda-dump-')), 'dump');
  try {
    await run(path.join(bin, 'pg_dump'), ['-Fc', '-f', dumpFile, '-d', fromUrl]);
    await run(path.join(bin, 'pg_restore'), ['--no-owner', '--exit-on-error', '-d', toUrl, dumpFile]);
  } finally {
    rmSync(path.dirname(dumpFile), { recursive: true, force: true });
  }
}
