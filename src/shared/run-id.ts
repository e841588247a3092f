import { pooledRandomBytes } from './random-pool';

/**
 * A short random id (8 URL-safe characters, 48 bits) that tells one HTTP request or one command
 * run from the others of its correlation id: two of them may share a name, a cause and a
 * millisecond (clients reusing an X-Correlation-Id, a step sending a command twice). Unique among
 * a flow's few thousand nodes, not globally; its 8 bytes are what each event's metadata pays.
 */
export function runId(): string {
  return pooledRandomBytes(6).toString('base64url');
}
