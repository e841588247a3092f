import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { latencyHistogram, recordMs } from './histogram.mjs';

/**
 * POST `path` on `origin` for `seconds`, cycling through `bodies` (JSON strings), over a pool of
 * `connections` keep-alive connections, each request with the extra `headers` (e.g. authorization).
 *
 * - `rate` null: closed loop, each connection sends its next request when the last one answered
 *   (finds the saturation rate; latency from the actual send). A connection whose request was shed
 *   (503 with `Retry-After`) waits that long before its next one, as a well-behaved client does
 *   (RFC 9110, 10.2.3): hammering a shedding server measures the cost of refusals, not the rate
 *   the system sustains, and starves the work it is catching up on.
 * - `rate` > 0: open loop, request i is due at start + i / rate whatever the answers do. A
 *   request due while every connection is busy waits in the pool's queue, and its latency is
 *   taken from the moment it was due, not from when it went out, so a slow server cannot hide
 *   its slowness by slowing the sender down (coordinated omission).
 *
 * `live` ({ sent, accepted, shed }) is updated as it goes, for the progress line. Accepted/s is the
 * 2xx answers over the time from the first send to the last answer, so answers that trail the
 * sending window count against the rate.
 */
export async function runLoad({ origin, path, bodies, headers = {}, connections, seconds, rate = null, live = { sent: 0, accepted: 0 } }) {
  const requestHeaders = { ...headers, 'content-type': 'application/json' };
  const pool = new Pool(origin, { connections, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const http = latencyHistogram();
  const ids = [];
  // shed: 503 with Retry-After, the API's admission control refusing the order before doing
  // anything (no order, no event). Neither accepted nor a failure: counted apart, never retried.
  const failures = { non2xx: 0, shed: 0, errors: 0, statuses: {}, firstError: null };
  let next = 0;
  /** Sends one request; resolves to the seconds of the answer's `Retry-After` when it was shed, else undefined. */
  const send = async (dueAt) => {
    live.sent++;
    const body = bodies[next++ % bodies.length];
    try {
      const response = await pool.request({ path, method: 'POST', headers: requestHeaders, body });
      const text = await response.body.text();
      recordMs(http, performance.now() - dueAt);
      if (response.statusCode >= 200 && response.statusCode < 300) {
        live.accepted++;
        ids.push(JSON.parse(text).id);
      } else if (response.statusCode === 503 && response.headers['retry-after'] !== undefined) {
        failures.shed++;
        live.shed = (live.shed ?? 0) + 1;
        const retryAfterS = Number(response.headers['retry-after']);
        return Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS : undefined;
      } else {
        failures.non2xx++;
        failures.statuses[response.statusCode] = (failures.statuses[response.statusCode] ?? 0) + 1;
        failures.firstError ??= `${response.statusCode} ${text.slice(0, 200)}`;
      }
    } catch (error) {
      failures.errors++;
      failures.firstError ??= error.message;
    }
  };

  const startedAt = performance.now();
  const endAt = startedAt + seconds * 1000;
  if (rate === null) {
    await Promise.all(Array.from({ length: connections }, async () => {
      while (performance.now() < endAt) {
        const retryAfterS = await send(performance.now());
        if (retryAfterS !== undefined) await sleep(Math.max(0, Math.min(retryAfterS * 1000, endAt - performance.now())));
      }
    }));
  } else {
    const intervalMs = 1000 / rate;
    const inFlight = new Set();
    for (let i = 0; startedAt + i * intervalMs < endAt; ) {
      for (; startedAt + i * intervalMs <= performance.now() && startedAt + i * intervalMs < endAt; i++) {
        const request = send(startedAt + i * intervalMs);
        inFlight.add(request);
        void request.finally(() => inFlight.delete(request));
      }
      await sleep(Math.max(1, startedAt + i * intervalMs - performance.now()));
    }
    await Promise.all(inFlight);
  }
  const finishedAt = performance.now();
  await pool.close();
  return {
    rate,
    sent: live.sent,
    accepted: ids.length,
    shed: failures.shed,
    ids,
    failures,
    http,
    acceptedPerS: ids.length / ((finishedAt - startedAt) / 1000),
    durationMs: finishedAt - startedAt,
  };
}
