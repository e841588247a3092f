import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

// `npm start` builds only when an input changed since the last build (scripts/build.mjs
// --if-stale). Run here on a small project of its own in a temporary folder, whose `nest build`
// is a stand-in that counts its runs: what is under test is the decision, not the compiler.

const ROOT = path.resolve(__dirname, '..');

interface Project {
  folder: string;
  /** Runs scripts/build.mjs with `args` on `node` (this test's Node unless told); `output` is stdout and stderr. */
  build(args?: string[], node?: string): { status: number | null; output: string; stdout: string };
  /** How many times `nest build` ran. */
  compilations(): number;
  /** Sets a file's mtime to now, as an editor saving it would. */
  touch(relative: string): void;
}

function projectInTemporaryFolder(): Project {
  const folder = mkdtempSync(path.join(tmpdir(), 'eda-build-reuse-'));
  const write = (relative: string, content: string) => {
    mkdirSync(path.dirname(path.join(folder, relative)), { recursive: true });
    writeFileSync(path.join(folder, relative), content);
  };
  mkdirSync(path.join(folder, 'scripts'));
  copyFileSync(path.join(ROOT, 'scripts/build.mjs'), path.join(folder, 'scripts/build.mjs'));
  write('src/main.ts', 'export {};\n');
  write('src/modules/users/user.ts', 'export {};\n');
  write('migrations/1-init.ts', 'export {};\n');
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json', 'package.json']) write(file, '{}\n');
  // The stand-in for `nest build`: empties dist as deleteOutDir does, writes the entry point and
  // every file of dist package.json's scripts run, counts its runs, says so on stdout as a
  // compiler may, and fails when FAIL_BUILD is set.
  write(
    'node_modules/@nestjs/cli/bin/nest.js',
    `const fs = require('node:fs');
const path = require('node:path');
const root = process.cwd();
fs.appendFileSync(path.join(root, 'compilations.log'), 'built\\n');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
if (process.env.FAIL_BUILD) { console.error('error TS2322: a failed build'); process.exit(2); }
console.log('compiled');
fs.mkdirSync(path.join(root, 'dist/src'), { recursive: true });
fs.writeFileSync(path.join(root, 'dist/src/main.js'), '');
// Every file of dist the npm scripts run, each printing its name.
const scripts = Object.values(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts ?? {});
for (const file of new Set(scripts.join(' ').match(/dist\\/[\\w\\/.-]+\\.js/g) ?? [])) {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), 'console.log(' + JSON.stringify(file) + ');\\n');
}
`,
  );
  return {
    folder,
    build(args = [], node = process.execPath) {
      const result = spawnSync(node, ['scripts/build.mjs', ...args], { cwd: folder, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      return { status: result.status, output: `${result.stdout}${result.stderr}`, stdout: result.stdout };
    },
    compilations() {
      const log = path.join(folder, 'compilations.log');
      return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
    },
    touch(relative) {
      const now = new Date();
      utimesSync(path.join(folder, relative), now, now);
    },
  };
}

describe('npm start reuses an up-to-date build', () => {
  let project: Project;

  beforeEach(() => {
    project = projectInTemporaryFolder();
  });

  afterEach(() => {
    rmSync(project.folder, { recursive: true, force: true });
  });

  it('is what npm start runs before starting the apps', () => {
    const scripts = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;
    expect(scripts.start).toMatch(/^node scripts\/build\.mjs --if-stale && /);
    expect(scripts.build).toBe('node scripts/build.mjs');
  });

  it('writes nothing on stdout, building or not: a CLI run through npm builds first, and what it prints there is read', () => {
    const built = project.build(['--if-stale']);
    expect(built.output).toContain('compiled');
    expect(built.stdout).toBe('');
    const reused = project.build(['--if-stale']);
    expect(reused.output).toContain('not rebuilding');
    expect(reused.stdout).toBe('');
  });

  it('builds when there is no build, then reuses it until a source, a tsconfig, nest-cli.json or the lock file changes', () => {
    const first = project.build(['--if-stale']);
    expect(first).toMatchObject({ status: 0 });
    expect(first.output).toContain('[build] building: no build in dist yet');
    expect(project.compilations()).toBe(1);

    const second = project.build(['--if-stale']);
    expect(second).toMatchObject({ status: 0 });
    expect(second.output).toContain('[build] dist is up to date');
    expect(second.output).toContain('not rebuilding');
    expect(project.compilations()).toBe(1);

    // package.json alone (scripts, metadata) does not change what the compiler produces.
    project.touch('package.json');
    expect(project.build(['--if-stale']).output).toContain('not rebuilding');

    const inputs = ['src/modules/users/user.ts', 'migrations/1-init.ts', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];
    for (const [index, input] of inputs.entries()) {
      project.touch(input);
      const rebuilt = project.build(['--if-stale']);
      expect(rebuilt).toMatchObject({ status: 0 });
      expect(rebuilt.output).toContain(`[build] building: ${input} changed`);
      expect(project.compilations()).toBe(2 + index);
      expect(project.build(['--if-stale']).output).toContain('not rebuilding');
    }
  });

  it('rebuilds when an input is deleted or renamed, though no file left is newer than the build', () => {
    project.build(['--if-stale']);
    // The build that follows any deletion: an earlier build's output of that file is gone.
    const ago = new Date(Date.now() - 60_000);
    const older = (relative: string) => utimesSync(path.join(project.folder, relative), ago, ago);
    rmSync(path.join(project.folder, 'migrations/1-init.ts'));
    older('migrations');
    const deleted = project.build(['--if-stale']);
    expect(deleted.output).toContain('[build] building: migrations/1-init.ts deleted');
    expect(project.compilations()).toBe(2);

    // mv keeps the file's mtime; only its folder's changes.
    renameSync(path.join(project.folder, 'src/modules/users/user.ts'), path.join(project.folder, 'src/modules/users/customer.ts'));
    const renamed = project.build(['--if-stale']);
    expect(renamed.output).toMatch(/\[build\] building: src\/modules\/users\/(user\.ts deleted|customer\.ts added)/);
    expect(project.compilations()).toBe(3);
    expect(project.build(['--if-stale']).output).toContain('not rebuilding');
  });

  it('rebuilds when a file comes back with an mtime older than the build (restored from an archive, cp -p)', () => {
    project.build(['--if-stale']);
    const ago = new Date(Date.now() - 3_600_000);
    writeFileSync(path.join(project.folder, 'src/main.ts'), 'export const restored = true;\n');
    utimesSync(path.join(project.folder, 'src/main.ts'), ago, ago);
    utimesSync(path.join(project.folder, 'src'), ago, ago);
    const restored = project.build(['--if-stale']);
    expect(restored.output).toContain('[build] building: src/main.ts changed');
    expect(project.compilations()).toBe(2);
  });

  it('npm run build always compiles', () => {
    project.build();
    project.build();
    expect(project.compilations()).toBe(2);
  });

  it('a failed build is not taken for a build: its status is passed on and the next start compiles again', () => {
    project.build(['--if-stale']);
    project.touch('src/main.ts');
    const failed = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], {
      cwd: project.folder,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', FAIL_BUILD: '1' },
    });
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain('a failed build');
    const next = project.build(['--if-stale']);
    expect(next.output).toContain('[build] building: no build in dist yet');
    expect(project.compilations()).toBe(3);
  });

  // The guard for an npm that skipped the `node` package's install script: npm scripts would
  // then run on the system's Node. Needs an older Node on this machine to show it.
  const olderNode = '/usr/bin/node';
  const olderNodeVersion = existsSync(olderNode) ? spawnSync(olderNode, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  const isOlder = /^v(\d+)\.(\d+)/.exec(olderNodeVersion);
  const itWithOlderNode = isOlder && (Number(isOlder[1]) < 24 || (Number(isOlder[1]) === 24 && Number(isOlder[2]) < 11)) ? it : it.skip;
  itWithOlderNode(`refuses to build on a Node older than 24.11 (${olderNodeVersion || 'none at /usr/bin/node'}), naming the fix`, () => {
    const refused = project.build(['--if-stale'], olderNode);
    expect(refused.status).toBe(1);
    expect(refused.output).toContain(`on Node ${olderNodeVersion.slice(1)}; it needs Node 24.11+`);
    expect(project.compilations()).toBe(0);
  });
});

describe('every npm script that runs the build in dist', () => {
  const scripts: Record<string, string> = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts;
  const runningDist = Object.entries(scripts).filter(([, command]) => /\bdist\//.test(command));
  const BUILDS_FIRST = /^(node scripts\/build\.mjs( --if-stale)?|nest build|npm run build) && /;

  it('builds first (node scripts/build.mjs --if-stale &&, or a build that always compiles), so a fresh clone can run it', () => {
    expect(runningDist.map(([name]) => name)).toEqual(expect.arrayContaining(['start:api', 'migrate:api', 'migrate:consumer', 'dead-letters', 'fill-store']));
    expect(runningDist.filter(([, command]) => !BUILDS_FIRST.test(command)).map(([name]) => name)).toEqual([]);
  });

  let project: Project | undefined;
  afterEach(() => {
    if (project) rmSync(project.folder, { recursive: true, force: true });
  });

  // All but those that compile every time (nest build, npm run build): the stand-in compiler answers only scripts/build.mjs.
  it.each(runningDist.filter(([, command]) => !/^(nest build|npm run build) && /.test(command)).map(([name]) => name))(
    '`npm run %s` in a clone with no dist builds, then runs, with only the CLI on stdout',
    (name) => {
      project = projectInTemporaryFolder();
      writeFileSync(path.join(project.folder, 'package.json'), JSON.stringify({ name: 'fresh-clone', private: true, scripts }));
      const run = spawnSync('npm', ['run', '--silent', name], {
        cwd: project.folder,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '', PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH}` },
      });
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('[build] building: no build in dist yet') });
      const entryPoints = scripts[name].match(/dist\/[\w/.-]+\.js/g)!;
      expect(run.stdout).toBe(entryPoints.map((file) => `${file}\n`).join(''));
      expect(project.compilations()).toBe(1);
    },
  );
});
