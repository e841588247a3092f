import { v7 as uuidV7 } from 'uuid';
import { pooledRandomBytes } from './random-pool';

/**
 * The last id's millisecond and its counter (RFC 9562 §6.2, method 1), as `uuid`'s own v7 keeps them:
 * seeded with 31 random bits each millisecond, so at least 2^31 ids fit in one before it runs over.
 */
let lastMs = -Infinity;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, a counter seeded at random each
 * millisecond, then random bits. Ids made by this process sort in the order they were made, also
 * within one millisecond, exactly as `uuid`'s `v7()` without options. The difference is the
 * entropy: `uuid` draws 16 bytes from the CSPRNG for every id, this takes them from a pool
 * filled in bulk (random-pool.ts), and passes the millisecond and counter it keeps itself, since
 * `v7()` keeps them only when it draws its own bytes.
 */
export function timeOrderedUuid(): string {
  const random = pooledRandomBytes(16);
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = ((random[6] & 0x7f) << 24) | (random[7] << 16) | (random[8] << 8) | random[9];
  } else {
    counter = (counter + 1) | 0;
    // The counter ran over (at least 2^31 ids in one millisecond): borrow the next millisecond, as uuid does.
    if (counter === 0) lastMs++;
  }
  return uuidV7({ msecs: lastMs, seq: counter, random });
}
