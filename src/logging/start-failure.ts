import { Logger } from '@nestjs/common';
import { useProcessLogger } from './process-logger';

/**
 * Logs why the process could not start, as its last line (`fatal`), before it exits 1. An
 * `expected` failure (invalid configuration, a topology that does not match) is its message
 * alone, which names the cause; anything else comes with its error and stack (`err`). When the
 * configuration itself was invalid the logger did not exist yet: it is made here, JSON unless
 * LOG_FORMAT=pretty.
 */
export function logStartFailure(name: string, what: string, error: unknown, expected: boolean): void {
  useProcessLogger(name, { LOG_LEVEL: 'log', LOG_FORMAT: process.env.LOG_FORMAT === 'pretty' ? 'pretty' : 'json' });
  const logger = new Logger('Bootstrap');
  if (expected) {
    logger.fatal(error instanceof Error ? error.message : String(error));
  } else {
    logger.fatal({ msg: `${what}: ${error instanceof Error ? error.message : String(error)}`, err: error });
  }
}
