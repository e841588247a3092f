import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The async context of where it was created (every AsyncLocalStorage's store as it was then: the
 * request logger nestjs-pino keeps, our log context, the running command, the transaction, the
 * trace), to start background work in that a request only sets going. Created at construction of
 * a provider, outside any request, it is the process's own context; work started in it from a
 * request does not inherit that request through its timers and promises, so its later log lines
 * carry no `correlationId` of a request long answered.
 */
export class ProcessContext {
  private readonly snapshot = AsyncLocalStorage.snapshot();

  /** Runs `start` in the context this was created in. */
  run<T>(start: () => T): T {
    return this.snapshot(start);
  }
}
