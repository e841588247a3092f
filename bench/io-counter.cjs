// Preloaded into the API and the consumer by `BENCH_COUNT_IO=on npm run bench` (node --require):
// counts the statements each process sends to PostgreSQL, by text, and the writes it makes to
// each peer's socket (each one a write(2) or writev(2) system call, and a read on the other side).
// Written as JSON to $BENCH_IO_COUNT_FILE when the process exits.
'use strict';
const fs = require('node:fs');
const net = require('node:net');

const file = process.env.BENCH_IO_COUNT_FILE;
const postgresPort = Number(process.env.BENCH_IO_POSTGRES_PORT ?? 5432);
const rabbitmqPort = Number(process.env.BENCH_IO_RABBITMQ_PORT ?? 5672);
const socketWrites = { PostgreSQL: 0, RabbitMQ: 0, 'HTTP and other': 0 };
const statements = new Map();

const writeGeneric = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function countedWrite(...args) {
  const peer = this.remotePort === postgresPort ? 'PostgreSQL' : this.remotePort === rabbitmqPort ? 'RabbitMQ' : 'HTTP and other';
  socketWrites[peer] += 1;
  return writeGeneric.apply(this, args);
};

try {
  const pg = require(require.resolve('pg', { paths: [process.cwd()] }));
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(config, ...rest) {
    const text = typeof config === 'string' ? config : (config?.text ?? '(no text)');
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 100);
    statements.set(key, (statements.get(key) ?? 0) + 1);
    return query.call(this, config, ...rest);
  };
} catch (error) {
  process.stderr.write(`io-counter: pg not found, statements are not counted (${error.message})\n`);
}

process.on('exit', () => {
  if (!file) return;
  fs.writeFileSync(file, JSON.stringify({ socketWrites, statements: [...statements].sort((a, b) => b[1] - a[1]) }));
});
