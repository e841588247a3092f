import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Inbox } from '../src/consumer/inbox/inbox';
import { DeliveryHandler, DeliverySettings } from '../src/consumer/messaging/delivery-handler';
import { InFlightDeliveries } from '../src/consumer/messaging/in-flight-deliveries';
import { eventually } from './support/test-app';
import { deleteTopology, TEST_RABBITMQ_URL, testTopology, uniqueBrokerPrefix } from './support/test-broker';

// The inbox is never reached: the messages are invalid, so the handler parks them. What is under
// test is a dead-letter queue that refuses them (full, overflow reject-publish: RabbitMQ nacks).
const unusedInbox = {} as Inbox;

describe('a park that RabbitMQ refuses', () => {
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  const topology = testTopology(uniqueBrokerPrefix());
  const source = `${topology.consumerQueue}.source`;

  beforeAll(async () => {
    connection = await amqp.connect(TEST_RABBITMQ_URL);
    const setup = await connection.createChannel();
    await setup.assertQueue(source, { durable: false });
    // Room for one message, taken by a filler: every republish is refused until it is taken away.
    await setup.assertQueue(topology.deadLetterQueue, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    setup.sendToQueue(topology.deadLetterQueue, Buffer.from('filler'));
    await setup.close();
  });

  afterAll(async () => {
    const cleanup = await connection.createChannel();
    await cleanup.deleteQueue(source);
    await cleanup.deleteQueue(topology.deadLetterQueue);
    await connection.close();
  });

  beforeEach(async () => {
    channel = await connection.createConfirmChannel();
  });

  afterEach(async () => {
    await channel.close().catch(() => undefined);
  });

  async function deliverOne(): Promise<ConsumeMessage> {
    channel.sendToQueue(source, Buffer.from('{"hello":"world"}'));
    await channel.waitForConfirms();
    const message = await eventually(async () => {
      const got = await channel.get(source, { noAck: false });
      if (!got) throw new Error('not there yet');
      return got;
    });
    return message as unknown as ConsumeMessage;
  }

  async function ready(queue: string): Promise<number> {
    const check = await connection.createChannel();
    const { messageCount } = await check.checkQueue(queue);
    await check.close();
    return messageCount;
  }

  it('keeps the original unacked and tries again until the park is taken, then acks it', async () => {
    const handler = new DeliveryHandler(unusedInbox, new DeliverySettings(topology, 5));
    const handling = handler.handle({ hello: 'world' }, await deliverOne(), channel);
    await new Promise((resolve) => setTimeout(resolve, 600)); // refused at least twice meanwhile

    const drain = await connection.createChannel();
    const filler = await drain.get(topology.deadLetterQueue, { noAck: true }); // room again
    expect(filler && filler.content.toString()).toBe('filler');
    await drain.close();

    await expect(handling).resolves.toBeUndefined();
    const parked = await connection.createChannel();
    const message = await parked.get(topology.deadLetterQueue, { noAck: true });
    expect(message && message.properties.headers?.['x-last-error']).toMatch(/^invalid event: /);
    // The filler goes back, so the next test finds the queue full again.
    parked.sendToQueue(topology.deadLetterQueue, Buffer.from('filler'));
    await parked.close();
    await channel.close();
    expect(await ready(source)).toBe(0); // acked, not handed back by the close
  });

  it('hands the original back to the broker (nack, requeue) when the consumer stops meanwhile', async () => {
    const inFlight = new InFlightDeliveries();
    const handler = new DeliveryHandler(unusedInbox, new DeliverySettings(topology, 5, inFlight));
    const handling = handler.handle({ hello: 'world' }, await deliverOne(), channel);
    await new Promise((resolve) => setTimeout(resolve, 300));
    inFlight.stop();
    await expect(handling).resolves.toBeUndefined();
    // Requeued by an explicit nack while the channel is still open, not by closing it.
    await eventually(async () => expect(await ready(source)).toBe(1));
  });
});

describe('a park into a dead-letter queue that was deleted by hand', () => {
  const topology = testTopology(uniqueBrokerPrefix());
  const source = `${topology.consumerQueue}.source`;
  let connection: ChannelModel;

  beforeAll(async () => {
    connection = await amqp.connect(TEST_RABBITMQ_URL);
  });

  afterAll(async () => {
    const cleanup = await connection.createChannel();
    await cleanup.deleteQueue(source);
    await cleanup.close();
    await connection.close();
    await deleteTopology(topology).catch(() => undefined);
  });

  it('is returned as unroutable, declares the topology again and parks the message there, then acks the original', async () => {
    // Nothing of the topology exists: a publish through the default exchange to the dead-letter
    // queue reaches no queue, and RabbitMQ confirms it all the same unless it is mandatory.
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(source, { durable: false });
    channel.sendToQueue(source, Buffer.from('{"hello":"world"}'));
    await channel.waitForConfirms();
    const delivery = await eventually(async () => {
      const got = await channel.get(source, { noAck: false });
      if (!got) throw new Error('not there yet');
      return got as unknown as ConsumeMessage;
    });

    const handler = new DeliveryHandler(unusedInbox, new DeliverySettings(topology, 5));
    await handler.handle({ hello: 'world' }, delivery, channel);

    const check = await connection.createChannel();
    const parked = await check.get(topology.deadLetterQueue, { noAck: true });
    expect(parked && parked.properties.headers?.['x-last-error']).toMatch(/^invalid event: /);
    await check.close();
    await channel.close();
    const after = await connection.createChannel();
    expect((await after.checkQueue(source)).messageCount).toBe(0); // acked only once the park was routed
    await after.close();
  });
});
