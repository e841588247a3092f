import { AfterListening } from './after-listening';

describe('AfterListening', () => {
  it('starts nothing before start(), then every part in order, and a part registered later at once', async () => {
    const afterListening = new AfterListening();
    const started: string[] = [];
    afterListening.register('projections', () => void started.push('projections'));
    afterListening.register('relay', async () => void started.push('relay'));
    expect(started).toEqual([]);

    await afterListening.start();
    afterListening.register('late', () => void started.push('late'));
    await Promise.resolve();

    expect(started).toEqual(['projections', 'relay', 'late']);
  });

  it('starts no further part once the application is shutting down', async () => {
    const afterListening = new AfterListening();
    const started: string[] = [];
    afterListening.register('projections', () => {
      started.push('projections');
      afterListening.beforeApplicationShutdown();
    });
    afterListening.register('relay', () => void started.push('relay'));

    await afterListening.start();
    afterListening.register('late', () => void started.push('late'));

    expect(started).toEqual(['projections']);
  });
});
