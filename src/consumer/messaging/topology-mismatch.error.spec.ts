import { TopologyMismatchError } from './topology-mismatch.error';

describe('a topology mismatch reported by RabbitMQ', () => {
  it('names the queue and the argument', () => {
    const error = new Error(
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'x-delivery-limit' for queue 'app.consumer' in vhost '/': received the value '20' of type 'signedint' but current is none"`,
    );
    const mismatch = TopologyMismatchError.fromDeclareError(error);
    expect(mismatch).toMatchObject({ kind: 'queue', entity: 'app.consumer', argument: 'x-delivery-limit' });
    expect(mismatch?.message).toBe(
      `RabbitMQ queue 'app.consumer' exists with a different 'x-delivery-limit' than this consumer declares ` +
        `(received the value '20' of type 'signedint' but current is none); delete the queue or align its arguments, then start again`,
    );
  });

  it('is not any other declaration failure', () => {
    expect(TopologyMismatchError.fromDeclareError(new Error('Channel closed'))).toBeUndefined();
    expect(TopologyMismatchError.fromDeclareError('406')).toBeUndefined();
  });
});
