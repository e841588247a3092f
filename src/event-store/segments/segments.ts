/**
 * Segments split one subscription (a projection or a reaction) between API processes, as Axon's
 * segments do: an event belongs to segment `segmentOf(key, segments)` of its subscription, where
 * the key is what must stay in order (a projection: the stream; a reaction: its partition key,
 * the customer for the order saga). One process at a time holds a segment, so one key's events
 * are still taken one after another, in commit order.
 */

/**
 * The segment of a key: FNV-1a (32 bits) over the key's UTF-16 code units, modulo `segments`.
 * Pure and stable across processes and releases (every process must agree on it; changing it is
 * changing every segment's content, which the checkpoints cannot follow). Computed in JS on the
 * events read, not in SQL: a reaction's key comes from its `partitionBy` function.
 */
export function segmentOf(key: string, segments: number): number {
  if (segments <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i += 1) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % segments;
}

/** What one process sees of a subscription's leases (see planLeases). */
export interface LeaseView {
  segments: number;
  /** Processes taking part in this subscription, this one included (at least 1). */
  members: number;
  /** Segments this process holds. */
  mine: readonly number[];
  /** How many segments each other member holds (members holding none may be missing). */
  others: readonly number[];
  /** Segments no process holds. */
  free: readonly number[];
}

export interface LeasePlan {
  acquire: number[];
  release: number[];
}

/** The most segments of a subscription one of `members` processes takes: ceil(segments / members). */
export function fairShare(segments: number, members: number): number {
  return Math.ceil(segments / Math.max(1, members));
}

/**
 * Even distribution (Marten's async daemon distributes whole projections this way; here it is
 * per subscription, so that every subscription's load is split, not only their count): a process
 * takes free segments up to its fair share `ceil(S / P)`, and gives back what it holds beyond it
 * (a process joined). When P does not divide S, a process holding more than `floor(S / P)` gives
 * one back while another member holds fewer than that, so that a late joiner is not left
 * without work. Releases happen between batches (the caller's business); a segment let go is
 * taken by a member under its share on its next look.
 */
export function planLeases({ segments, members, mine, others, free }: LeaseView, pick: (free: readonly number[], count: number) => number[] = firstOf): LeasePlan {
  const share = fairShare(segments, members);
  const least = Math.floor(segments / Math.max(1, members));
  if (mine.length > share) return { acquire: [], release: mine.slice(share) };
  const membersWithNone = Math.max(0, members - 1 - others.length);
  const someoneStarved = membersWithNone > 0 ? least > 0 : others.some((held) => held < least);
  if (mine.length > least && someoneStarved && free.length === 0) return { acquire: [], release: mine.slice(mine.length - 1) };
  if (mine.length < share && free.length > 0) return { acquire: pick(free, share - mine.length), release: [] };
  return { acquire: [], release: [] };
}

function firstOf(free: readonly number[], count: number): number[] {
  return free.slice(0, count);
}

/** `count` of `free`, in random order: processes looking at once rarely reach for the same segment. */
export function randomOf(free: readonly number[], count: number): number[] {
  const shuffled = [...free];
  for (let i = shuffled.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return shuffled.slice(0, count);
}

/**
 * How the checkpoints of a subscription stored as `stored.length` segments become `segments`
 * segments: each new segment's position, or why that cannot be done without applying an event
 * twice or skipping one.
 *
 * - A split into a multiple (4 → 8) is always safe: new segment j holds a subset of old segment
 *   j mod S_old's keys (hash mod 8 mod 4 = hash mod 4), so it starts where that one stands.
 * - Any change is safe when every segment stands at the same position (a caught-up, idle
 *   subscription: idle segments all move to the head).
 * - `idempotent` subscriptions (reactions: their receipts pass over what was done) may restart
 *   every new segment at the lowest old position.
 * - Anything else (a merge of segments standing at different positions, for a projection) is
 *   refused: the merged segment would either apply again what one old segment did or skip what
 *   the other had not done.
 */
export function resegment(stored: readonly bigint[], segments: number, idempotent: boolean): { positions: bigint[] } | { refused: string } {
  const old = stored.length;
  if (old === segments) return { positions: [...stored] };
  if (segments % old === 0) return { positions: Array.from({ length: segments }, (_, j) => stored[j % old]) };
  const lowest = stored.reduce((a, b) => (b < a ? b : a));
  if (idempotent || stored.every((position) => position === lowest)) return { positions: Array.from({ length: segments }, () => lowest) };
  return {
    refused:
      `its checkpoint is split into ${old} segments standing at different positions (${stored.join(', ')}), and ${segments} ` +
      `is not a multiple of ${old}: merging them would apply some events twice or skip others. Run with ` +
      `SUBSCRIPTION_SEGMENTS=${old} (or a multiple of it) until the load stops and every segment reached the head, then change it`,
  };
}
