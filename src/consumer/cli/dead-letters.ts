import { parseArgs } from 'node:util';
import { brokerTopology } from '../../messaging/broker-topology';
import { DeadLetter, DeadLetterQueue } from '../../messaging/dead-letters/dead-letter-queue';
import { loadConsumerEnvironment } from '../config/consumer-environment';

const USAGE = `Usage: npm run dead-letters -- <command>

  list                 show every parked message: id, type, attempts, when, last error
  redrive --all        send every parked message back into processing
  redrive --id <id>    send back the parked message with this message id

Reads RABBITMQ_URL, BROKER_PREFIX and CONSUMER_RETRY_DELAYS_MS like the consumer does.
The API offers the same as GET /admin/dead-letters and POST /admin/dead-letters/.../redrive.`;

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
  const deadLetters = new DeadLetterQueue({
    url: environment.RABBITMQ_URL,
    topology: brokerTopology(environment.BROKER_PREFIX, environment.CONSUMER_RETRY_DELAYS_MS),
  });
  const consumerQueue = brokerTopology(environment.BROKER_PREFIX, []).consumerQueue;

  if (command === 'list') {
    const { messages } = await deadLetters.list();
    printTable(messages);
    process.stdout.write(`${messages.length} message(s) in ${deadLetters.name}\n`);
    return 0;
  }

  const outcome = await deadLetters.redrive(values.all ? { all: true } : { messageId: values.id! });
  if (!values.all && outcome.matched === 0) {
    process.stderr.write(`no parked message has id ${values.id}\n`);
    return 1;
  }
  process.stdout.write(`redrove ${outcome.redriven} message(s) into ${consumerQueue}\n`);
  if (outcome.stillParked > 0) {
    process.stderr.write(`${outcome.stillParked} message(s) could not be routed to ${consumerQueue} and stay parked\n`);
    return 1;
  }
  return 0;
}

function printTable(parked: DeadLetter[]): void {
  for (const entry of parked) {
    const lastError = (entry.lastError ?? '(none recorded)').replace(/\s+/g, ' ');
    process.stdout.write([entry.messageId, entry.type, `attempts=${entry.attempts}`, entry.deadLetteredAt ?? '', lastError].join('\t') + '\n');
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
