import { randomUUID } from 'node:crypto';
import { wrapInCloudEvent } from '../../src/contracts';

/** An integration event as the relay would publish it, from `/tests`, for tests that publish to the consumer themselves. */
export function testCloudEvent(contract: { type: string }, data: object, subject: string, sequence: number, id = randomUUID()) {
  return wrapInCloudEvent(contract, data, {
    id,
    source: '/tests',
    subject,
    time: new Date().toISOString(),
    correlationId: 'test',
    causationId: 'test',
    sequence,
  });
}
