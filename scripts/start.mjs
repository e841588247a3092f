// `npm start`: runs the built API and the consumer app side by side, prefixing each line of
// their logs, and stops both when either exits or on Ctrl-C.
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const processes = [
  { name: 'api', entry: 'dist/src/main.js' },
  { name: 'consumer', entry: 'dist/src/consumer/main.js' },
].map(({ name, entry }) => {
  const child = spawn(process.execPath, [entry], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
  }
  return { name, child };
});

let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const { child } of processes) if (child.exitCode === null) child.kill('SIGTERM');
  process.exitCode = code;
}

for (const { name, child } of processes) {
  child.on('exit', (code, signal) => {
    if (!stopping) process.stdout.write(`[${name}] exited (${signal ?? code}); stopping the other process\n`);
    stopAll(code ?? 1);
  });
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
