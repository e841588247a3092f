import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { trace } from '@opentelemetry/api';

/** How long a stopping process waits for its last spans to be exported (a collector that does not answer). */
const FLUSH_TIMEOUT_MS = 2000;

interface FlushableProvider {
  forceFlush(): Promise<void>;
}

/**
 * Exports the spans still queued when the application stops: GracefulShutdown exits the process
 * right after `app.close()`, and the SDK's batch processor would lose what it holds. A no-op when
 * tracing is off (the API's own provider has nothing to flush).
 */
@Injectable()
export class TraceExportFlush implements OnApplicationShutdown {
  private readonly logger = new Logger('Tracing');

  async onApplicationShutdown(): Promise<void> {
    const provider = registeredProvider();
    if (!provider) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, FLUSH_TIMEOUT_MS, 'timeout')));
    try {
      const outcome = await Promise.race([provider.forceFlush().then(() => 'flushed' as const), timedOut]);
      if (outcome === 'timeout') this.logger.warn(`the last spans were not exported within ${FLUSH_TIMEOUT_MS} ms; dropping them`);
    } catch (error) {
      this.logger.warn(`exporting the last spans failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The SDK's tracer provider behind the API's global proxy, when one was registered. */
function registeredProvider(): FlushableProvider | undefined {
  const global = trace.getTracerProvider() as { getDelegate?: () => unknown };
  const provider = global.getDelegate?.() ?? global;
  return typeof (provider as Partial<FlushableProvider>).forceFlush === 'function' ? (provider as FlushableProvider) : undefined;
}
