import { urlWithoutSecrets } from './url-without-secrets';

describe('urlWithoutSecrets', () => {
  it('hides the password and keeps user, host, port and database', () => {
    expect(urlWithoutSecrets('postgres://app:s3cr%40t@db.internal:5432/eda')).toBe('postgres://app:***@db.internal:5432/eda');
    expect(urlWithoutSecrets('amqp://guest:guest@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
  });

  it('hides secrets passed as query parameters', () => {
    const shown = urlWithoutSecrets('postgres://app@db/eda?sslmode=require&password=hunter2&PGPASSWORD=x');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('sslmode=require');
    expect(shown).toContain('password=***');
  });

  it('shows nothing of a password whose unencoded # / or ? ended the authority early, leaving the rest after the host', () => {
    for (const url of [
      'amqp://guest:1234#s3cret@127.0.0.1:5672',
      'amqp://guest:1234/s3cret@127.0.0.1:5672',
      'postgres://app:1234?s3cret@db.internal/eda',
      'postgres://app:p@ss/s3cret@db.internal/eda',
    ]) {
      expect({ url, shown: urlWithoutSecrets(url) }).toEqual({ url, shown: expect.not.stringContaining('s3cret') });
    }
  });

  it('drops a fragment, which no connection URL needs', () => {
    expect(urlWithoutSecrets('amqp://guest:guest@127.0.0.1:5672/#s3cret')).toBe('amqp://guest:***@127.0.0.1:5672/');
  });

  it('leaves a URL without secrets as it is', () => {
    expect(urlWithoutSecrets('amqp://127.0.0.1:5672/vhost')).toBe('amqp://127.0.0.1:5672/vhost');
  });

  it('shows nothing of a string that is no URL', () => {
    expect(urlWithoutSecrets('hunter2')).toBe('(not a URL)');
  });
});
