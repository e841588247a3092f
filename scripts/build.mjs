// `npm run build` (and `npm test`): compiles with `nest build` into dist, then stamps dist with the
// moment the build started. `npm start` runs it with --if-stale: when no input changed since
// the stamp, it reuses dist and says so instead of compiling again.
//
// Inputs: every file under src/ and migrations/, tsconfig*.json, nest-cli.json and
// package-lock.json (the installed compiler and types). A file counts as changed when its mtime
// is not older than the stamp; a build started while a file was being saved is redone next time.
//
// Exit status: nest build's, or 1 when npm runs this script on a Node older than the project's.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(ROOT, 'dist', '.build-stamp');
const INPUT_DIRECTORIES = ['src', 'migrations'];
const INPUT_FILE = /^(tsconfig.*\.json|nest-cli\.json|package-lock\.json)$/;
const NODE_REQUIRED = [24, 11];

function log(line) {
  process.stdout.write(`[build] ${line}\n`);
}

/** Every input file's path with its mtime in ms, directories walked depth-first. */
function* inputs() {
  for (const name of readdirSync(ROOT)) if (INPUT_FILE.test(name)) yield path.join(ROOT, name);
  const pending = INPUT_DIRECTORIES.map((directory) => path.join(ROOT, directory)).filter((directory) => existsSync(directory));
  while (pending.length > 0) {
    const directory = pending.pop();
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) pending.push(full);
      else if (entry.isFile()) yield full;
    }
  }
}

/** The first input at least as new as the stamp, 'no build' without a stamp, or undefined when dist is current. */
function changedSinceLastBuild() {
  if (!existsSync(STAMP)) return 'no build in dist yet';
  const builtAt = statSync(STAMP).mtimeMs;
  for (const file of inputs()) if (statSync(file).mtimeMs >= builtAt) return `${path.relative(ROOT, file)} changed`;
  return undefined;
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < NODE_REQUIRED[0] || (major === NODE_REQUIRED[0] && minor < NODE_REQUIRED[1])) {
  process.stderr.write(
    `[build] npm runs this project's scripts on Node ${process.versions.node}; it needs Node ${NODE_REQUIRED.join('.')}+, ` +
      `which \`npm ci\` installs into node_modules/.bin/node (the \`node\` devDependency). Was its install script ` +
      `skipped? \`npm install-scripts ls\` lists it; package.json's allowScripts allows it.\n`,
  );
  process.exit(1);
}

if (process.argv.includes('--if-stale')) {
  const reason = changedSinceLastBuild();
  if (reason === undefined) {
    log('dist is up to date (no source, tsconfig, nest-cli.json or package-lock.json changed since the last build): not rebuilding');
    process.exit(0);
  }
  log(`building: ${reason}`);
}

// Taken before compiling: a file saved during the build is newer than the stamp.
const startedAt = new Date();
const nest = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js'), 'build'], { cwd: ROOT, stdio: 'inherit' });
if (nest.status !== 0) process.exit(nest.status ?? 1);
writeFileSync(STAMP, 'dist was built from the inputs older than this file (scripts/build.mjs)\n');
utimesSync(STAMP, startedAt, startedAt);
