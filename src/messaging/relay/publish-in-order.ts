/** How to publish messages of type `T` (the relay's: CloudEvent envelopes). */
export interface OrderedPublishing<T> {
  /** Publishes one message; resolves on its confirm. */
  publish(message: T): Promise<void>;
  /** At most this many messages unconfirmed at once. */
  maxInFlight: number;
  /** Asked before each message: true stops sending (what is in flight still settles). */
  shouldStop?(): boolean;
  /** Told when a message starts and stops being in flight (+1 / -1). */
  onInFlightChange?(delta: 1 | -1): void;
}

export interface OrderedPublishingResult {
  /** How many leading items are settled: confirmed, or undefined (nothing to publish). */
  settledPrefix: number;
  /** Which items were confirmed, by index (also beyond the prefix). */
  confirmed: boolean[];
  /** The first failure, if any; sending stopped there. */
  failure?: Error;
}

/**
 * Publishes `items` in order with at most `maxInFlight` unconfirmed, each settled by its own
 * confirm. At the first failure it sends nothing more, waits for what is in flight, and reports
 * the longest settled prefix: the caller may advance past exactly that many and re-send only the
 * rest that is not confirmed. An undefined item counts as settled without being sent.
 */
export async function publishInOrder<T>(
  items: ReadonlyArray<T | undefined>,
  { publish, maxInFlight, shouldStop, onInFlightChange }: OrderedPublishing<T>,
): Promise<OrderedPublishingResult> {
  const settled = items.map((item) => item === undefined);
  const confirmed = items.map(() => false);
  const pending = new Set<Promise<void>>();
  let failure: Error | undefined;
  for (const [index, item] of items.entries()) {
    while (pending.size >= maxInFlight && !failure) await Promise.race(pending);
    if (failure || shouldStop?.()) break;
    if (item === undefined) continue;
    onInFlightChange?.(1);
    const publishing: Promise<void> = publish(item)
      .then(
        () => {
          settled[index] = true;
          confirmed[index] = true;
        },
        (error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        },
      )
      .finally(() => {
        onInFlightChange?.(-1);
        pending.delete(publishing);
      });
    pending.add(publishing);
  }
  await Promise.all(pending);
  const firstUnsettled = settled.indexOf(false);
  return { settledPrefix: firstUnsettled === -1 ? items.length : firstUnsettled, confirmed, failure };
}
