import { ConcurrencyConflictError } from './domain-error';

/**
 * Reruns a load-decide-save use case that lost an optimistic race. The client sent no expected
 * version, so deciding again on the latest state is right: a customer changing their email must
 * not get a 409 because the saga reserved credit on the same user a moment earlier. A decision
 * the new state forbids still fails with its own domain error, and a command that did name the
 * version it expects (`If-Match`) meets that version check again and fails with 412. Applied
 * once, to every command the CommandBus runs (RunningCommands): 5 attempts, no pause between them.
 */
export async function retryOnConcurrencyConflict<T>(work: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConcurrencyConflictError) || attempt >= attempts) throw error;
    }
  }
}
