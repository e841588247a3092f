import { ApiHeader } from '@nestjs/swagger';

/** Documents the optional `Idempotency-Key` header of a command endpoint. */
export const ApiIdempotencyKey = () =>
  ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Retry-safe key (1-255 visible ASCII characters): the same key and body get the same response and one effect; ' +
      'the same key with another body is refused with 422. Replays carry `Idempotent-Replayed: true`. ' +
      'A key is kept IDEMPOTENCY_KEY_RETENTION_HOURS after its first request (24 h unless configured), then pruned: ' +
      'a retry after that is a new request and runs the command again.',
    schema: { type: 'string', maxLength: 255 },
  });
