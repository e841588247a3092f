import { randomFillSync } from 'node:crypto';

/**
 * How many random bytes one call into the CSPRNG draws: 256 UUIDs' worth. One call for 16 bytes
 * (what `uuid`'s v7 makes per id) cost about 4 µs here, nearly all of it per call, and the API
 * makes four or five ids per order: 4 % of its busy time under load. Node's own `randomUUID()`
 * keeps a cache of entropy the same way.
 */
const POOL_BYTES = 4096;

let pool = Buffer.alloc(0);
let offset = 0;

/**
 * `length` bytes from the CSPRNG (at most POOL_BYTES), taken from a buffer filled in bulk. The
 * bytes are never handed out twice, and the buffer they view is never written again (each refill
 * is a new buffer), so a caller may keep them.
 */
export function pooledRandomBytes(length: number): Buffer {
  if (length > POOL_BYTES) throw new RangeError(`pooledRandomBytes serves at most ${POOL_BYTES} bytes, not ${length}`);
  if (offset + length > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + length);
  offset += length;
  return bytes;
}
