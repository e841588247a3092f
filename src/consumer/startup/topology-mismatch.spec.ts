import { asTopologyMismatch, BrokerTopologyMismatchError } from './topology-mismatch';

function amqpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('asTopologyMismatch', () => {
  it('names the queue and keeps what RabbitMQ said about the argument', () => {
    const mismatch = asTopologyMismatch(
      amqpError(
        406,
        `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'eda.consumer' in vhost '/': received the value 'quorum' of type 'longstr' but current is none"`,
      ),
    );
    expect(mismatch).toBeInstanceOf(BrokerTopologyMismatchError);
    expect(mismatch?.subject).toBe(`queue 'eda.consumer'`);
    expect(mismatch?.brokerSays).toBe(`inequivalent arg 'x-queue-type': received the value 'quorum' of type 'longstr' but current is none`);
    expect(mismatch?.message).toContain(`queue 'eda.consumer'`);
  });

  it('names an exchange declared with another type', () => {
    const mismatch = asTopologyMismatch(
      amqpError(406, `PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'eda.integration' in vhost '/': received 'topic' but current is 'direct'`),
    );
    expect(mismatch?.subject).toBe(`exchange 'eda.integration'`);
  });

  it('is not a mismatch for any other error', () => {
    expect(asTopologyMismatch(amqpError(404, 'NOT_FOUND - no queue'))).toBeUndefined();
    expect(asTopologyMismatch(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5672'), { code: 'ECONNREFUSED' }))).toBeUndefined();
    expect(asTopologyMismatch('406')).toBeUndefined();
  });
});
