import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import amqp from 'amqplib';
import { UserRegisteredV1 } from '../src/contracts';
import { toAmqpMessage } from '../src/messaging/integration-event-publisher';
import { ConfirmChannelSession } from '../src/messaging/publishing/confirm-channel-session';
import { PublishTimeoutError, UnroutableMessageError } from '../src/messaging/publishing/publish-errors';
import { deleteTopology, messageCount, startBrokerProxy, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';

const topology = testTopology(uniqueBrokerPrefix());

function message() {
  const id = randomUUID();
  return toAmqpMessage({
    id,
    source: '/eda/test',
    type: UserRegisteredV1.type,
    specversion: '1.0',
    time: new Date().toISOString(),
    subject: randomUUID(),
    datacontenttype: 'application/json',
    data: {},
    correlationid: id,
    causationid: id,
    sequence: '1',
  });
}

const options = (url = TEST_RABBITMQ_URL, confirmTimeoutMs = 5000) => ({
  url,
  topology,
  confirmTimeoutMs,
  heartbeatSeconds: 5,
  logger: new Logger('relay-publisher-test'),
});

async function deleteConsumerQueue(): Promise<void> {
  const connection = await amqp.connect(TEST_RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(topology.consumerQueue);
    await channel.close();
  } finally {
    await connection.close();
  }
}

describe('the confirm-channel publisher against the real RabbitMQ', () => {
  afterAll(() => deleteTopology(topology).catch(() => undefined));

  it('rejects a message no queue is bound for as unroutable instead of resolving it as confirmed, and routes the retry', async () => {
    const session = await ConfirmChannelSession.open(options());
    try {
      await deleteConsumerQueue(); // the exchange is left with nothing bound
      const lost = message();
      await expect(session.publish(lost)).rejects.toBeInstanceOf(UnroutableMessageError);
      // The return made the session declare the topology again: the same message is now routed.
      await expect(session.publish(lost)).resolves.toBeUndefined();
      expect(await messageCount(topology.consumerQueue)).toBe(1);
    } finally {
      await session.close(new Error('test over'));
    }
  });

  it('settles a message whose confirm is overdue as failed when the broker stalls, without waiting for the broker', async () => {
    const proxy = await startBrokerProxy();
    const session = await ConfirmChannelSession.open(options(proxy.rewrite(TEST_RABBITMQ_URL), 300));
    try {
      proxy.hold();
      await expect(session.publish(message())).rejects.toBeInstanceOf(PublishTimeoutError);
      expect(session.isBroken).toBe(true);
      expect(session.inFlightCount).toBe(0);
    } finally {
      proxy.release();
      await session.close(new Error('test over'), 500);
      await proxy.close();
    }
  });
});
