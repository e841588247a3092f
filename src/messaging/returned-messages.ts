import type { Channel, Message } from 'amqplib';

/** Names one republish, so that RabbitMQ's basic.return of it can be matched to its confirm. */
export const REPUBLISH_ID_HEADER = 'x-republish-id';

const returnedByChannel = new WeakMap<Channel, Set<string>>();

/**
 * The ids (REPUBLISH_ID_HEADER) of the mandatory messages RabbitMQ returned as unroutable on
 * `channel`, listening to its returns from the first call on. RabbitMQ sends the basic.return of
 * an unroutable mandatory message before the basic.ack of the same message on the same channel
 * (RabbitMQ docs, "Publisher Confirms"), so a publish's confirm callback can tell a delivery from a
 * confirm of a message that reached no queue: take the id out of this set there.
 */
export function returnedMessagesOf(channel: Channel): Set<string> {
  let returned = returnedByChannel.get(channel);
  if (!returned) {
    const ids = new Set<string>();
    channel.on('return', (message: Message) => {
      const id: unknown = message.properties.headers?.[REPUBLISH_ID_HEADER];
      if (typeof id === 'string') ids.add(id);
    });
    returnedByChannel.set(channel, ids);
    returned = ids;
  }
  return returned;
}
