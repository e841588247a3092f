import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import { UserRegisteredV1, wrapInCloudEvent } from '../src/contracts';
import type { Inbox } from '../src/consumer/inbox/inbox';
import { DeliveryHandler, DeliverySettings } from '../src/consumer/messaging/delivery-handler';
import { TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';

// The inbox is not under test here (its own tests run against PostgreSQL): this file is about
// what the handler does with a real RabbitMQ channel that closed while it worked.
const applyingInbox = { receive: async () => 'applied' } as unknown as Inbox;

describe('settling a delivery whose channel closed meanwhile', () => {
  let connection: ChannelModel;
  const queue = `${uniqueBrokerPrefix()}.settlement`;
  beforeAll(async () => {
    connection = await amqp.connect(TEST_RABBITMQ_URL);
  });
  afterAll(async () => {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await connection.close();
  });

  it('neither throws nor loses the message: it stays unacked and RabbitMQ delivers it again', async () => {
    const userId = randomUUID();
    const event = wrapInCloudEvent(
      UserRegisteredV1,
      { userId, email: 'settle@example.com', name: 'Settle', registeredAt: new Date().toISOString() },
      { id: randomUUID(), source: '/tests', subject: userId, time: new Date().toISOString(), correlationId: 't', causationId: 't', sequence: 1 },
    );
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: false });
    channel.sendToQueue(queue, Buffer.from(JSON.stringify(event)));
    await channel.waitForConfirms();
    const message = (await channel.get(queue, { noAck: false })) as unknown as ConsumeMessage;
    expect(message).toBeTruthy();
    await channel.close(); // the consumer is stopping while the handler still works

    const handler = new DeliveryHandler(applyingInbox, new DeliverySettings(testTopology(uniqueBrokerPrefix()), 5));
    await expect(handler.handle(JSON.parse(message.content.toString()), message, channel)).resolves.toBeUndefined();

    const again = await connection.createChannel();
    const redelivered = await again.get(queue, { noAck: true });
    expect(redelivered && JSON.parse(redelivered.content.toString()).id).toBe(event.id);
    expect(redelivered && redelivered.fields.redelivered).toBe(true);
    await again.close();
  });
});
