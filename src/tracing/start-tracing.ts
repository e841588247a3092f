import { z } from 'zod';
import { InvalidEnvironmentError, parseEnvironment, tracingSettings } from '../config/environment';

type TracingSettings = z.infer<z.ZodObject<typeof tracingSettings>>;

/**
 * Whether the OTEL_* variables ask for traces: an exporter named in OTEL_TRACES_EXPORTER (other
 * than `none`), or an OTLP endpoint with OTEL_TRACES_EXPORTER unset (the SDK's default exporter
 * is OTLP). OTEL_SDK_DISABLED=true wins over both.
 */
export function tracingRequested(settings: TracingSettings): boolean {
  if (settings.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  if (settings.OTEL_TRACES_EXPORTER !== undefined) {
    return settings.OTEL_TRACES_EXPORTER.split(',').some((name) => name.trim() !== 'none');
  }
  return settings.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined;
}

/**
 * Starts the OpenTelemetry SDK for traces, when the OTEL_* variables ask for them, before the
 * application's modules load: the instrumentations patch `http`, `pg` and `amqplib` as they are
 * required, and `@fastify/otel` hooks every Fastify instance as it is created. Run from the
 * `--import` preloads (preload-api.ts, preload-consumer.ts) that `npm run start:api`,
 * `start:consumer` and `npm start` pass to Node.
 *
 * Tracing off (the default) loads no SDK at all; the application's own spans (spans.ts) then
 * cost one no-op call each. The exporter, sampler, batch sizes and propagators come from the
 * standard OTEL_* variables, read by the SDK; only traces are exported (metrics are
 * Prometheus', logs go to stdout). `defaultServiceName` is the `service.name` unless
 * OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES sets one. An invalid OTEL_* variable stops the
 * process with a message naming it, like any other setting.
 */
export function startTracing(defaultServiceName: string): void {
  const environment = process.env;
  let settings: TracingSettings;
  try {
    settings = parseEnvironment(z.object(tracingSettings), environment);
  } catch (error) {
    if (!(error instanceof InvalidEnvironmentError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  if (!tracingRequested(settings)) return;

  // Required only now, and synchronously: tracing off loads none of it, and on, the hooks are in
  // place before Node loads the application after this preload.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { instrumentations } = require('./instrumentations') as typeof import('./instrumentations');
  /* eslint-enable @typescript-eslint/no-require-imports */

  const namesService = environment.OTEL_SERVICE_NAME !== undefined || /(^|,)\s*service\.name\s*=/.test(environment.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const sdk = new NodeSDK({
    serviceName: namesService ? undefined : defaultServiceName,
    // Traces only: no OTLP metrics or logs unless configured in code.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: instrumentations(),
  });
  sdk.start();
}
