import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import amqp, { type GetMessage } from 'amqplib';
import { brokerTopology, declareTopology } from '../../messaging/broker-topology';
import { loadConsumerEnvironment } from '../config/consumer-environment';
import {
  ATTEMPTS_HEADER,
  DEAD_LETTERED_AT_HEADER,
  LAST_ERROR_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  REORDER_WAITS_HEADER,
} from '../messaging/message-headers';
import { REPUBLISH_ID_HEADER, returnedMessagesOf } from '../messaging/returned-messages';

const USAGE = `Usage: npm run dead-letters -- <command>

  list                 show every parked message: id, type, attempts, when, last error
  redrive --all        send every parked message back into processing
  redrive --id <id>    send back the parked message with this message id

Reads RABBITMQ_URL, BROKER_PREFIX and CONSUMER_RETRY_DELAYS_MS like the consumer does.`;

interface Parked {
  message: GetMessage;
  id: string;
  type: string;
  attempts: number;
  deadLetteredAt: string;
  lastError: string;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { all: { type: 'boolean' }, id: { type: 'string' }, help: { type: 'boolean' } },
  });
  const [command] = positionals;
  if (values.help || !command || !['list', 'redrive'].includes(command) || (command === 'redrive' && !values.all === !values.id)) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }

  const environment = loadConsumerEnvironment(process.env);
  const topology = brokerTopology(environment.BROKER_PREFIX, environment.CONSUMER_RETRY_DELAYS_MS);
  const connection = await amqp.connect(environment.RABBITMQ_URL);
  try {
    const channel = await connection.createConfirmChannel();
    // Every message is taken without ack; closing the channel returns the ones not redriven.
    const parked: Parked[] = [];
    for (;;) {
      const message = await channel.get(topology.deadLetterQueue, { noAck: false });
      if (!message) break;
      parked.push(describe(message));
    }

    if (command === 'list') {
      printTable(parked);
      process.stdout.write(`${parked.length} message(s) in ${topology.deadLetterQueue}\n`);
    } else {
      const chosen = values.all ? parked : parked.filter((entry) => entry.id === values.id);
      if (!values.all && chosen.length === 0) {
        process.stderr.write(`no parked message has id ${values.id}\n`);
        await channel.close();
        return 1;
      }
      // The consumer queue may be gone (deleted by hand): declare it, and send mandatory messages
      // so that one RabbitMQ could not route comes back instead of being confirmed and lost.
      await declareTopology(channel, topology);
      const returned = returnedMessagesOf(channel);
      const sent = chosen.map((entry) => {
        const { properties, content } = entry.message;
        const republishId = randomUUID();
        const headers: Record<string, unknown> = { ...properties.headers, 'x-redriven-at': new Date().toISOString(), [REPUBLISH_ID_HEADER]: republishId };
        delete headers[ATTEMPTS_HEADER];
        delete headers[REORDER_WAITS_HEADER];
        channel.publish('', topology.consumerQueue, content, { ...properties, headers, persistent: true, mandatory: true });
        return { entry, republishId };
      });
      await channel.waitForConfirms();
      const delivered = sent.filter(({ republishId }) => !returned.has(republishId));
      for (const { entry } of delivered) channel.ack(entry.message);
      process.stdout.write(`redrove ${delivered.length} message(s) into ${topology.consumerQueue}\n`);
      if (delivered.length < sent.length) {
        // Not acked: closing the channel leaves them parked.
        process.stderr.write(`${sent.length - delivered.length} message(s) could not be routed to ${topology.consumerQueue} and stay parked\n`);
        await channel.close();
        return 1;
      }
    }
    await channel.close();
    return 0;
  } finally {
    await connection.close();
  }
}

function describe(message: GetMessage): Parked {
  const headers = message.properties.headers ?? {};
  return {
    message,
    id: String(message.properties.messageId ?? '(none)'),
    type: String(message.properties.type ?? headers[ORIGINAL_ROUTING_KEY_HEADER] ?? '(unknown)'),
    attempts: Number(headers[ATTEMPTS_HEADER] ?? 0),
    deadLetteredAt: String(headers[DEAD_LETTERED_AT_HEADER] ?? ''),
    lastError: String(headers[LAST_ERROR_HEADER] ?? '(none recorded)'),
  };
}

function printTable(parked: Parked[]): void {
  for (const entry of parked) {
    process.stdout.write(
      [entry.id, entry.type, `attempts=${entry.attempts}`, entry.deadLetteredAt, entry.lastError.replace(/\s+/g, ' ')].join('\t') + '\n',
    );
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
