/** A dependency did not answer within the time it was given. */
export class TimeLimitExceededError extends Error {}

/**
 * `work`, or a TimeLimitExceededError (`<what> did not answer within <ms> ms`) once `ms` passed
 * without it settling. For reads whose caller must answer in bounded time (a probe, a scrape)
 * while a server may hang: accept the connection and never reply, which no socket error reveals.
 * `work` itself is not cancelled; its eventual failure is swallowed.
 */
export async function withinTimeLimit<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitExceededError(`${what} did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
