import { loadConsumerEnvironment } from '../consumer/config/consumer-environment';
import { environmentAdvice, InvalidEnvironmentError, loadEnvironment } from './environment';

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

  it('sheds load at a tenth of the order deadline by default, never below 2 s, and takes an explicit bound as it is', () => {
    expect(loadEnvironment({})).toMatchObject({ ADMISSION_CONTROL: 'on', ADMISSION_MAX_LAG_MS: 3000, ADMISSION_MAX_LAG_EVENTS: 0, ADMISSION_SAMPLE_MS: 250 });
    expect(loadEnvironment({ ORDER_CONFIRMATION_TIMEOUT_MS: '120000' }).ADMISSION_MAX_LAG_MS).toBe(12_000);
    expect(loadEnvironment({ ORDER_CONFIRMATION_TIMEOUT_MS: '300' }).ADMISSION_MAX_LAG_MS).toBe(2000);
    expect(loadEnvironment({ ADMISSION_MAX_LAG_MS: '0' }).ADMISSION_MAX_LAG_MS).toBe(0);
    expect(loadEnvironment({ ADMISSION_MAX_LAG_MS: '500' }).ADMISSION_MAX_LAG_MS).toBe(500);
  });

  it.each([
    ['ADMISSION_CONTROL', { ADMISSION_CONTROL: 'false' }],
    ['ADMISSION_MAX_LAG_MS', { ADMISSION_MAX_LAG_MS: '-1' }],
    ['ADMISSION_MAX_LAG_EVENTS', { ADMISSION_MAX_LAG_EVENTS: 'lots' }],
    ['ADMISSION_SAMPLE_MS', { ADMISSION_SAMPLE_MS: '10' }],
  ])('refuses a bad %s of admission control, naming it', (name, raw) => {
    expect(() => loadEnvironment(raw)).toThrow(new RegExp(`\\b${name}\\b`));
  });

  it('keeps idempotency keys 24 h and inbox rows 7 days, pruning every 10 minutes 1000 rows a statement, unless told otherwise', () => {
    expect(loadEnvironment({})).toMatchObject({ IDEMPOTENCY_KEY_RETENTION_HOURS: 24, RETENTION_PRUNE_INTERVAL_MS: 600_000, RETENTION_PRUNE_BATCH_SIZE: 1000 });
    expect(loadConsumerEnvironment({})).toMatchObject({ INBOX_RETENTION_HOURS: 168, RETENTION_PRUNE_INTERVAL_MS: 600_000, RETENTION_PRUNE_BATCH_SIZE: 1000 });
    expect(loadEnvironment({ IDEMPOTENCY_KEY_RETENTION_HOURS: '0.5' }).IDEMPOTENCY_KEY_RETENTION_HOURS).toBe(0.5);
    expect(() => loadEnvironment({ IDEMPOTENCY_KEY_RETENTION_HOURS: '0' })).toThrow(/\bIDEMPOTENCY_KEY_RETENTION_HOURS\b/);
    expect(() => loadConsumerEnvironment({ INBOX_RETENTION_HOURS: 'a week' })).toThrow(/\bINBOX_RETENTION_HOURS\b/);
    expect(() => loadEnvironment({ RETENTION_PRUNE_INTERVAL_MS: '10' })).toThrow(/\bRETENTION_PRUNE_INTERVAL_MS\b/);
    expect(() => loadConsumerEnvironment({ RETENTION_PRUNE_BATCH_SIZE: '0' })).toThrow(/\bRETENTION_PRUNE_BATCH_SIZE\b/);
  });

  it('bounds an idle transaction at 15 s in both apps by default; takes 0 (no bound) or at least 1 s, nothing in between', () => {
    expect(loadEnvironment({}).DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS).toBe(15_000);
    expect(loadConsumerEnvironment({}).DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS).toBe(15_000);
    expect(loadEnvironment({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '0' }).DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS).toBe(0);
    expect(loadEnvironment({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1000' }).DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS).toBe(1000);
    // A bound under a client round trip or two would end the apps' own transactions between statements.
    for (const ms of ['1', '999']) {
      expect(() => loadEnvironment({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: ms })).toThrow(/\bDATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS\b/);
      expect(() => loadConsumerEnvironment({ DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: ms })).toThrow(/\bDATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS\b/);
    }
    expect(loadEnvironment({}).LEASE_SESSION_TIMEOUT_MS).toBe(15_000);
    expect(() => loadEnvironment({ LEASE_SESSION_TIMEOUT_MS: '999' })).toThrow(/\bLEASE_SESSION_TIMEOUT_MS\b/);
  });

  it('bounds the wait for a statement\'s answer at 30 s in both apps by default; takes 0 (no bound) or at least 1 s, nothing in between', () => {
    expect(loadEnvironment({}).DATABASE_STATEMENT_REPLY_TIMEOUT_MS).toBe(30_000);
    expect(loadConsumerEnvironment({}).DATABASE_STATEMENT_REPLY_TIMEOUT_MS).toBe(30_000);
    expect(loadEnvironment({ DATABASE_STATEMENT_REPLY_TIMEOUT_MS: '0' }).DATABASE_STATEMENT_REPLY_TIMEOUT_MS).toBe(0);
    expect(loadConsumerEnvironment({ DATABASE_STATEMENT_REPLY_TIMEOUT_MS: '1000' }).DATABASE_STATEMENT_REPLY_TIMEOUT_MS).toBe(1000);
    for (const ms of ['1', '999', '-1', '2.5', 'soon']) {
      expect(() => loadEnvironment({ DATABASE_STATEMENT_REPLY_TIMEOUT_MS: ms })).toThrow(/\bDATABASE_STATEMENT_REPLY_TIMEOUT_MS\b/);
      expect(() => loadConsumerEnvironment({ DATABASE_STATEMENT_REPLY_TIMEOUT_MS: ms })).toThrow(/\bDATABASE_STATEMENT_REPLY_TIMEOUT_MS\b/);
    }
  });

  it('takes an HTTP connection timeout of 0 (never) or at least a second, the longest wait at the door, and refuses one between', () => {
    expect(loadEnvironment({}).HTTP_CONNECTION_TIMEOUT_MS).toBe(120_000);
    expect(loadEnvironment({ HTTP_CONNECTION_TIMEOUT_MS: '0' }).HTTP_CONNECTION_TIMEOUT_MS).toBe(0);
    expect(loadEnvironment({ HTTP_CONNECTION_TIMEOUT_MS: '1000' }).HTTP_CONNECTION_TIMEOUT_MS).toBe(1000);
    for (const ms of ['1', '500', '999']) {
      expect(() => loadEnvironment({ HTTP_CONNECTION_TIMEOUT_MS: ms })).toThrow(/\bHTTP_CONNECTION_TIMEOUT_MS\b.*at least 1000/);
    }
  });

  it('refuses a consumer batch of no events, or a negative gather time, naming the variable', () => {
    expect(() => loadConsumerEnvironment({ CONSUMER_BATCH_SIZE: '0' })).toThrow(/\bCONSUMER_BATCH_SIZE\b/);
    expect(() => loadConsumerEnvironment({ CONSUMER_BATCH_GATHER_MS: '-1' })).toThrow(/\bCONSUMER_BATCH_GATHER_MS\b/);
  });

  it('says a variable set to the empty string is empty, in both apps, instead of the check it failed', () => {
    expect(() => loadEnvironment({ PORT: '' })).toThrow('PORT: set but empty (give it a value, or unset it to use its default)');
    expect(() => loadConsumerEnvironment({ CONSUMER_PORT: '' })).toThrow(/CONSUMER_PORT: set but empty/);
    expect(() => loadEnvironment({ PORT: 'abc' })).not.toThrow(/set but empty/);
  });

  // Number('') is 0, which these accept as "no bound": an empty value (a compose file's
  // `${UNSET_VARIABLE}`) silently turned the bound off instead of failing the start.
  it.each(['DATABASE_STATEMENT_REPLY_TIMEOUT_MS', 'DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS', 'MIGRATION_LOCK_WAIT_MS'])(
    'refuses %s set to the empty string, where 0 means no bound, in both apps',
    (name) => {
      expect(() => loadEnvironment({ [name]: '' })).toThrow(`${name}: set but empty (give it a value, or unset it to use its default)`);
      expect(() => loadConsumerEnvironment({ [name]: '' })).toThrow(`${name}: set but empty`);
    },
  );

  // A URL's refinement ran on '' or on a value that is no URL at all, and new URL() threw: the
  // start failed with "TypeError: Invalid URL", naming no variable.
  it.each([
    ['CONSUMER_URL', loadEnvironment],
    ['AUTH_JWKS_URL', loadEnvironment],
    ['AUTH_JWKS_URL', loadConsumerEnvironment],
  ] as const)('names %s when it is empty or no URL, as an invalid configuration', (name, load) => {
    expect(() => load({ [name]: '' })).toThrow(InvalidEnvironmentError);
    expect(() => load({ [name]: '' })).toThrow(`${name}: set but empty`);
    expect(() => load({ [name]: 'not a url', PORT: 'abc' })).toThrow(InvalidEnvironmentError);
    expect(() => load({ [name]: 'not a url' })).toThrow(new RegExp(`${name}: must be an http`));
  });

  it('runs the migrations at start by default, in both apps; `check` instead checks them', () => {
    expect(loadEnvironment({}).DATABASE_MIGRATIONS).toBe('run');
    expect(loadConsumerEnvironment({}).DATABASE_MIGRATIONS).toBe('run');
    expect(loadEnvironment({ DATABASE_MIGRATIONS: 'run' }).DATABASE_MIGRATIONS).toBe('run');
    expect(loadEnvironment({ DATABASE_MIGRATIONS: 'check' }).DATABASE_MIGRATIONS).toBe('check');
    expect(loadConsumerEnvironment({ DATABASE_MIGRATIONS: 'check' }).DATABASE_MIGRATIONS).toBe('check');
  });

  // An empty value must not fall back to `run`: a deployment that meant `check` (a role without
  // DDL rights) would try to migrate at every start.
  it.each([
    ['the API', loadEnvironment],
    ['the consumer', loadConsumerEnvironment],
  ] as const)('%s refuses DATABASE_MIGRATIONS empty, or other than run or check, naming it', (_app, load) => {
    expect(() => load({ DATABASE_MIGRATIONS: '' })).toThrow(InvalidEnvironmentError);
    expect(() => load({ DATABASE_MIGRATIONS: '' })).toThrow('DATABASE_MIGRATIONS: set but empty (give it a value, or unset it to use its default)');
    for (const value of ['skip', 'Check', 'RUN', 'false', 'run,check', ' check']) {
      expect(() => load({ DATABASE_MIGRATIONS: value })).toThrow(InvalidEnvironmentError);
      expect(() => load({ DATABASE_MIGRATIONS: value })).toThrow(/DATABASE_MIGRATIONS: .*"run"\|"check"/);
    }
  });

  it('names every bad variable of the consumer at once', () => {
    expect(() => loadConsumerEnvironment({ CONSUMER_PORT: '0', CONSUMER_MAX_ATTEMPTS: 'many' })).toThrow(
      /CONSUMER_PORT.*CONSUMER_MAX_ATTEMPTS|CONSUMER_MAX_ATTEMPTS.*CONSUMER_PORT/,
    );
  });
});

describe('environmentAdvice', () => {
  const defaults = { LEASE_SESSION_TIMEOUT_MS: 15_000, ORDER_CONFIRMATION_TIMEOUT_MS: 30_000, REACTIONS_ENABLED: true };

  it('has nothing to say about the defaults', () => {
    expect(environmentAdvice(defaults)).toEqual([]);
  });

  it('warns when a frozen process could keep the credit reaction past an order timeout', () => {
    expect(environmentAdvice({ ...defaults, ORDER_CONFIRMATION_TIMEOUT_MS: 2000 })).toEqual([
      expect.stringMatching(/^LEASE_SESSION_TIMEOUT_MS \(15000\) is not under ORDER_CONFIRMATION_TIMEOUT_MS \(2000\): .*rejected for timeout/),
    ]);
  });

  it('says nothing for a process that runs no reactions (it decides no order)', () => {
    expect(environmentAdvice({ ...defaults, ORDER_CONFIRMATION_TIMEOUT_MS: 2000, REACTIONS_ENABLED: false })).toEqual([]);
  });
});
