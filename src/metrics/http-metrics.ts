import { Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { Histogram } from 'prom-client';
import { MetricsRegistry } from './metrics-registry';

/** Seconds; from 1 ms, as most answers of this service take a few milliseconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The route label of a request no route matched (a 404 of the router): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * `http_request_duration_seconds{method, route, status_code}`: every HTTP answer, labelled by the
 * route's pattern (`/orders/:id`), never the raw URL, so the number of series stays bounded.
 */
@Injectable()
export class HttpMetrics {
  private readonly durations: Histogram<'method' | 'route' | 'status_code'>;

  constructor(registry: MetricsRegistry) {
    this.durations = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to sending its answer, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  }

  /**
   * Times every answer in an `onResponse` hook (after the answer went out, whoever sent it: a
   * handler, the problem+json filter, admission control, the 404 handler). Call before the app
   * listens.
   */
  register(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', async (request, reply) => {
      this.durations.observe(
        { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status_code: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    });
  }
}
