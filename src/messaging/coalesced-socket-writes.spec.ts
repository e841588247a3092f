import { once } from 'node:events';
import net from 'node:net';
import { coalesceSocketWrites } from './coalesced-socket-writes';

/** A connected TCP pair on loopback; `received` collects what the server side read. */
async function socketPair(): Promise<{ client: net.Socket; received: () => Buffer; close(): Promise<void> }> {
  const chunks: Buffer[] = [];
  const server = net.createServer((socket) => socket.on('data', (chunk: Buffer) => chunks.push(chunk)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  return {
    client,
    received: () => Buffer.concat(chunks),
    close: async () => {
      client.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Counts the writes that reach the socket's handle (one per write(2) or writev(2)). */
function countHandleWrites(socket: net.Socket): () => number {
  let writes = 0;
  const internals = socket as unknown as { _writeGeneric: (...args: unknown[]) => unknown };
  const writeGeneric = internals._writeGeneric.bind(socket);
  internals._writeGeneric = (...args: unknown[]) => {
    writes += 1;
    return writeGeneric(...args);
  };
  return () => writes;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('coalesceSocketWrites', () => {
  it('sends the writes of one turn of the event loop as one socket write, in order, and each later turn as its own', async () => {
    const pair = await socketPair();
    try {
      const writes = countHandleWrites(pair.client);
      coalesceSocketWrites({ connection: { stream: pair.client } });
      for (let index = 0; index < 50; index += 1) pair.client.write(`a${index};`);
      await tick();
      expect(writes()).toBe(1);
      for (let index = 0; index < 50; index += 1) pair.client.write(`b${index};`);
      await tick();
      expect(writes()).toBe(2);

      const expected = [...Array.from({ length: 50 }, (_, i) => `a${i};`), ...Array.from({ length: 50 }, (_, i) => `b${i};`)].join('');
      for (let wait = 0; wait < 100 && pair.received().length < expected.length; wait += 1) await tick();
      expect(pair.received().toString()).toBe(expected);
    } finally {
      await pair.close();
    }
  });

  it('writes one by one without it, and is harmless when applied twice or to something without a socket', async () => {
    const pair = await socketPair();
    try {
      const writes = countHandleWrites(pair.client);
      for (let index = 0; index < 5; index += 1) pair.client.write('x');
      await tick();
      expect(writes()).toBeGreaterThan(1);

      const before = writes();
      coalesceSocketWrites({ connection: { stream: pair.client } });
      coalesceSocketWrites({ connection: { stream: pair.client } });
      for (let index = 0; index < 5; index += 1) pair.client.write('y');
      await tick();
      expect(writes() - before).toBe(1);

      expect(() => coalesceSocketWrites({})).not.toThrow();
      expect(() => coalesceSocketWrites(undefined)).not.toThrow();
    } finally {
      await pair.close();
    }
  });
});
