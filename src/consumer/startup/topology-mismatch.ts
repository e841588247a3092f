/**
 * The broker already holds a queue or exchange of the topology declared with other arguments
 * (e.g. a classic queue where a quorum queue is declared): RabbitMQ closes the channel with
 * 406 PRECONDITION_FAILED. Nothing fixes this but an operator (delete or migrate the queue).
 */
export class BrokerTopologyMismatchError extends Error {
  constructor(
    /** `queue 'eda.consumer'` or `exchange 'eda.integration'`. */
    readonly subject: string,
    /** RabbitMQ's own words, e.g. `inequivalent arg 'x-queue-type' … received 'quorum' but current is 'classic'`. */
    readonly brokerSays: string,
  ) {
    super(`the broker holds ${subject} declared with other arguments (${brokerSays}); delete or migrate it, then start again`);
    this.name = 'BrokerTopologyMismatchError';
  }
}

const PRECONDITION_FAILED = 406;
const INEQUIVALENT = /PRECONDITION_FAILED - (inequivalent arg '[^']*' for (queue|exchange) '([^']*)' in vhost '[^']*': [^"]*)/;

/** The mismatch `error` (as amqplib rejects a declare) stands for, or undefined if it is another error. */
export function asTopologyMismatch(error: unknown): BrokerTopologyMismatchError | undefined {
  if (!(error instanceof Error) || (error as { code?: unknown }).code !== PRECONDITION_FAILED) return undefined;
  const match = INEQUIVALENT.exec(error.message);
  if (!match) return new BrokerTopologyMismatchError('a queue or exchange', error.message);
  const [, brokerSays, kind, name] = match;
  return new BrokerTopologyMismatchError(`${kind} '${name}'`, brokerSays.replace(/ for (queue|exchange) '[^']*' in vhost '[^']*'/, ''));
}
