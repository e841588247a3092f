import type { ChannelModel } from 'amqplib';

/** How long reading a queue's depth may take before it counts as failed (a stalled broker never answers). */
export const QUEUE_DEPTH_TIMEOUT_MS = 1000;

/**
 * Messages ready in `queue` (AMQP queue.declare passive: `messageCount`, which leaves out the
 * deliveries a consumer holds unacked), read on a short-lived channel of `connection`, so that a
 * failure (the queue does not exist: 404 closes that channel) touches no channel in use.
 * Rejects after QUEUE_DEPTH_TIMEOUT_MS.
 */
export async function readQueueDepth(connection: ChannelModel, queue: string): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`RabbitMQ did not answer within ${QUEUE_DEPTH_TIMEOUT_MS} ms`)), QUEUE_DEPTH_TIMEOUT_MS);
    timer.unref();
  });
  const read = (async () => {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close().catch(() => undefined);
    }
  })();
  read.catch(() => undefined);
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
