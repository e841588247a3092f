// A round-robin TCP balancer for BENCH_API_PROCESSES > 1: each connection the load opens goes to
// the next API process, so the load is split evenly between them behind one port (HTTP keep-alive
// connections stay with their process). Run as a child process of its own, so its CPU shows apart.
//   node bench/balancer.mjs <listen port> <target port>…
import net from 'node:net';

const [listenPort, ...targets] = process.argv.slice(2).map(Number);
let next = 0;
const server = net.createServer((client) => {
  const target = net.connect(targets[next++ % targets.length], '127.0.0.1');
  client.setNoDelay(true);
  target.setNoDelay(true);
  client.pipe(target).pipe(client);
  const close = () => {
    client.destroy();
    target.destroy();
  };
  client.on('error', close);
  target.on('error', close);
  client.on('close', close);
  target.on('close', close);
});
server.listen(listenPort, '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
