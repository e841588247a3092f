// `npm run build` (and `npm test`): compiles with `nest build` into dist, then writes into dist the
// list of the inputs it was built from. `npm start` runs it with --if-stale: when the inputs are
// still those, it reuses dist and says so instead of compiling again.
//
// Inputs: every file under src/ and migrations/, tsconfig*.json, nest-cli.json and
// package-lock.json (the installed compiler and types), each with its size and mtime, listed
// before compiling. dist is stale when a file was added or deleted (a rename is both) or its size
// or mtime differs in either direction: a file restored with an older mtime (an archive, `cp -p`)
// counts, and a file saved while the build ran is rebuilt next time.
//
// Exit status: nest build's, or 1 when npm runs this script on a Node older than the project's.
//
// Everything it and the compiler write goes to stderr: every npm script that runs dist builds
// first (package.json), and what a CLI prints on stdout is its own (read by scripts and tests).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP = path.join(ROOT, 'dist', '.build-stamp');
const INPUT_DIRECTORIES = ['src', 'migrations'];
const INPUT_FILE = /^(tsconfig.*\.json|nest-cli\.json|package-lock\.json)$/;
const NODE_REQUIRED = [24, 11];

function log(line) {
  process.stderr.write(`[build] ${line}\n`);
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

/** `relative path → "size mtime"` of every input now. */
function inputManifest() {
  const manifest = {};
  for (const file of inputs()) {
    const { size, mtimeMs } = statSync(file);
    manifest[path.relative(ROOT, file).split(path.sep).join('/')] = `${size} ${mtimeMs}`;
  }
  return manifest;
}

/** The inputs dist was built from, as the last build listed them; undefined without one (or from a release that wrote none). */
function builtFrom() {
  if (!existsSync(STAMP)) return undefined;
  try {
    const { inputs: listed } = JSON.parse(readFileSync(STAMP, 'utf8'));
    return typeof listed === 'object' && listed !== null ? listed : undefined;
  } catch {
    return undefined;
  }
}

/** Why dist is stale (the first input added, deleted or changed since the last build), or undefined when it is current. */
function changedSinceLastBuild() {
  if (!existsSync(STAMP)) return 'no build in dist yet';
  const before = builtFrom();
  if (!before) return 'the last build left no list of its inputs';
  const now = inputManifest();
  for (const [file, stat] of Object.entries(now)) {
    if (!(file in before)) return `${file} added`;
    if (before[file] !== stat) return `${file} changed`;
  }
  for (const file of Object.keys(before)) if (!(file in now)) return `${file} deleted`;
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
    log('dist is up to date (no source, tsconfig, nest-cli.json or package-lock.json added, deleted or changed since the last build): not rebuilding');
    process.exit(0);
  }
  log(`building: ${reason}`);
}

// Listed before compiling: a file saved during the build no longer matches the list.
const manifest = inputManifest();
// The compiler's output (its errors included) goes to stderr as well.
const nest = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/@nestjs/cli/bin/nest.js'), 'build'], { cwd: ROOT, stdio: ['inherit', 2, 'inherit'] });
if (nest.status !== 0) process.exit(nest.status ?? 1);
writeFileSync(STAMP, `${JSON.stringify({ note: 'dist was built from these inputs (size mtime); see scripts/build.mjs', inputs: manifest })}\n`);
