import type { Writable } from 'node:stream';

const coalescing = new WeakSet<Writable>();

/**
 * Makes the socket under an amqplib channel or connection send what is written to it within one
 * turn of the event loop as one write (`cork` at the first write of a turn, `uncork` on the next
 * tick: Node then hands every buffered chunk to the kernel in a single `writev`).
 *
 * amqplib writes each frame group on its own: a relay batch of 200 messages was 200 socket
 * writes, and a consumer batch's 100 acks 100 more. Counted in the bench, that was one
 * `write(2)` per order in the API and one in the consumer, each also a read in RabbitMQ. Nothing
 * is held back past the current turn, so latency does not change.
 *
 * `amqpObject` is an amqplib `ChannelModel` or `Channel` (promise API): both reach the
 * `Connection` whose `stream` is the socket. That field is amqplib's, not documented; when it is
 * missing (another amqplib major) this does nothing, and writes go out one by one as before.
 * Applying it twice to the same socket is harmless.
 */
export function coalesceSocketWrites(amqpObject: unknown): void {
  const stream = socketOf(amqpObject);
  if (!stream || coalescing.has(stream)) return;
  coalescing.add(stream);
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  stream.write = ((...args: unknown[]) => {
    if (!corked && !stream.destroyed) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as Writable['write'];
}

function socketOf(amqpObject: unknown): Writable | undefined {
  const connection = (amqpObject as { connection?: { stream?: unknown } } | undefined)?.connection;
  const stream = connection?.stream as Writable | undefined;
  return typeof stream?.write === 'function' && typeof stream.cork === 'function' ? stream : undefined;
}
