import { AsyncLocalStorage } from 'node:async_hooks';
import { ProcessContext } from './process-context';

describe('ProcessContext', () => {
  const request = new AsyncLocalStorage<{ correlationId: string }>();

  it('starts work without the stores of the request that set it going, across its awaits and timers', async () => {
    const processContext = new ProcessContext();
    const seen = await request.run({ correlationId: 'request-1' }, () =>
      processContext.run(async () => {
        const atStart = request.getStore();
        await new Promise((resolve) => setTimeout(resolve, 1));
        return [atStart, request.getStore()];
      }),
    );
    expect(seen).toEqual([undefined, undefined]);
  });

  it('keeps the stores it was created in', () => {
    const processContext = request.run({ correlationId: 'boot' }, () => new ProcessContext());
    expect(request.run({ correlationId: 'request-2' }, () => processContext.run(() => request.getStore()))).toEqual({ correlationId: 'boot' });
  });
});
