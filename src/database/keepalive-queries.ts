/**
 * Sends `SELECT 1` through `query` every `intervalMs` until the returned function stops it; none
 * while the previous one is unanswered (it waits behind a statement still running, so the session
 * is not idle, and one per interval would only pile up). `query` should be serialized with the
 * session's other statements (serializeQueries), so that the two never overlap.
 * Failures are dropped: the session's owner meets them on its own next statement or in the
 * client's 'error'. The timer does not keep the process alive.
 */
export function sendKeepaliveQueries(query: (sql: string) => Promise<unknown>, intervalMs: number): () => void {
  let unanswered = false;
  const timer = setInterval(() => {
    if (unanswered) return;
    unanswered = true;
    query('SELECT 1')
      .catch(() => undefined)
      .finally(() => (unanswered = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
