import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { declareTopology } from '../src/messaging/broker-topology';
import { deleteTopology, messageCount, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';

/** The dead-letter CLI exactly as `npm run dead-letters` runs it. */
function deadLetters(brokerPrefix: string, ...args: string[]) {
  return promisify(execFile)(process.execPath, [path.resolve(__dirname, '../dist/src/consumer/cli/dead-letters.js'), ...args], {
    env: { ...process.env, NODE_OPTIONS: '', RABBITMQ_URL: TEST_RABBITMQ_URL, BROKER_PREFIX: brokerPrefix, CONSUMER_RETRY_DELAYS_MS: '1000,5000,30000' },
  });
}

describe('npm run dead-letters -- redrive', () => {
  const brokerPrefix = uniqueBrokerPrefix();
  const topology = testTopology(brokerPrefix);

  afterAll(async () => {
    await deleteTopology(topology).catch(() => undefined);
  });

  it('sends parked messages back even when the consumer queue was deleted: it is declared again, nothing is lost', async () => {
    const connection = await amqp.connect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createConfirmChannel();
      await declareTopology(channel, topology);
      for (const id of ['parked-1', 'parked-2']) {
        channel.sendToQueue(topology.deadLetterQueue, Buffer.from('{}'), { messageId: id, persistent: true, headers: { 'x-attempts': 5 } });
      }
      await channel.waitForConfirms();
      await channel.deleteQueue(topology.consumerQueue); // by hand, while messages are parked
      await channel.close();
    } finally {
      await connection.close();
    }

    const { stdout } = await deadLetters(brokerPrefix, 'redrive', '--all');

    expect(stdout).toContain('redrove 2 message(s)');
    expect(await messageCount(topology.consumerQueue)).toBe(2);
    expect(await messageCount(topology.deadLetterQueue)).toBe(0);
  }, 30_000);
});
