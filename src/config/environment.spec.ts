import { loadConsumerEnvironment } from '../consumer/config/consumer-environment';
import { InvalidEnvironmentError, loadEnvironment } from './environment';

describe('configuration', () => {
  it('fills every default when nothing is set', () => {
    const environment = loadEnvironment({});
    expect(environment).toMatchObject({
      DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/eda',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
      PORT: 3000,
      BROKER_PREFIX: 'eda',
      RELAY_ENABLED: true,
      CONSUMER_RETRY_DELAYS_MS: [1000, 5000, 30000],
    });
    expect(loadConsumerEnvironment({})).toMatchObject({
      CONSUMER_PORT: 3001,
      CONSUMER_MAX_ATTEMPTS: 5,
      CONSUMER_PREFETCH: 100,
      CONSUMER_BATCH_GATHER_MS: 5,
      CONSUMER_BATCH_SIZE: 100,
    });
  });

  it.each([
    ['PORT', { PORT: 'eighty' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }],
    ['RABBITMQ_URL', { RABBITMQ_URL: 'http://broker' }],
    ['BROKER_PREFIX', { BROKER_PREFIX: 'Has Spaces' }],
    ['RELAY_ENABLED', { RELAY_ENABLED: 'yes' }],
    ['CONSUMER_RETRY_DELAYS_MS', { CONSUMER_RETRY_DELAYS_MS: '1s,5s' }],
  ])('refuses a bad %s with a message naming it', (name, raw) => {
    expect(() => loadEnvironment(raw)).toThrow(InvalidEnvironmentError);
    expect(() => loadEnvironment(raw)).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('refuses a consumer batch of no events, or a negative gather time, naming the variable', () => {
    expect(() => loadConsumerEnvironment({ CONSUMER_BATCH_SIZE: '0' })).toThrow(/\bCONSUMER_BATCH_SIZE\b/);
    expect(() => loadConsumerEnvironment({ CONSUMER_BATCH_GATHER_MS: '-1' })).toThrow(/\bCONSUMER_BATCH_GATHER_MS\b/);
  });

  it('names every bad variable of the consumer at once', () => {
    expect(() => loadConsumerEnvironment({ CONSUMER_PORT: '0', CONSUMER_MAX_ATTEMPTS: 'many' })).toThrow(
      /CONSUMER_PORT.*CONSUMER_MAX_ATTEMPTS|CONSUMER_MAX_ATTEMPTS.*CONSUMER_PORT/,
    );
  });
});
