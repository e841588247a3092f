import { InvalidEnvironmentError, loadEnvironment } from '../config/environment';
import { loadConsumerEnvironment } from '../consumer/config/consumer-environment';
import { resolveAuthentication } from './authentication-settings';

const SECRET = 'a-shared-secret-of-at-least-32-characters';

describe('resolving the authentication of an HTTP process', () => {
  it('refuses a process with no way to verify tokens, naming the variables that give one', () => {
    for (const environment of [loadEnvironment({}), loadConsumerEnvironment({})]) {
      expect(() => resolveAuthentication(environment)).toThrow(InvalidEnvironmentError);
      expect(() => resolveAuthentication(environment)).toThrow(/AUTH_JWT_SECRET.*AUTH_JWKS_URL.*AUTH_MODE=development/);
    }
  });

  it('lets the CLIs, which serve no HTTP, load their configuration without any', () => {
    expect(loadEnvironment({}).AUTH_MODE).toBe('jwt');
  });

  it('verifies with a shared secret, and the issuer and audience when they are set', () => {
    expect(resolveAuthentication(loadEnvironment({ AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'https://id.example', AUTH_AUDIENCE: 'orders-api' }))).toEqual({
      keys: { secret: SECRET },
      issuer: 'https://id.example',
      audience: 'orders-api',
    });
  });

  it('refuses a shared secret shorter than an HS256 key (32 characters)', () => {
    expect(() => resolveAuthentication(loadEnvironment({ AUTH_JWT_SECRET: 'short' }))).toThrow(/AUTH_JWT_SECRET: at least 32 characters/);
  });

  it('verifies with a JWKS URL only together with an audience', () => {
    expect(() => resolveAuthentication(loadEnvironment({ AUTH_JWKS_URL: 'https://id.example/jwks.json' }))).toThrow(/AUTH_AUDIENCE is required with AUTH_JWKS_URL/);
    expect(resolveAuthentication(loadEnvironment({ AUTH_JWKS_URL: 'https://id.example/jwks.json', AUTH_AUDIENCE: 'orders-api' }))).toEqual({
      keys: { jwksUrl: 'https://id.example/jwks.json' },
      audience: 'orders-api',
    });
  });

  it('refuses a secret and a JWKS URL together', () => {
    expect(() =>
      resolveAuthentication(loadEnvironment({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://id.example/jwks.json', AUTH_AUDIENCE: 'a' })),
    ).toThrow(/either AUTH_JWT_SECRET or AUTH_JWKS_URL/);
  });

  it('refuses a JWKS URL with a user or password, which fetch never sends, naming the variable and not the password', () => {
    for (const url of ['https://reader:s3cret@id.example/jwks.json', 'https://reader@id.example/jwks.json']) {
      expect(() => loadEnvironment({ AUTH_JWKS_URL: url })).toThrow(/^Invalid configuration: AUTH_JWKS_URL: /);
      expect(() => loadConsumerEnvironment({ AUTH_JWKS_URL: url })).toThrow(/^Invalid configuration: AUTH_JWKS_URL: /);
    }
    expect(() => loadEnvironment({ AUTH_JWKS_URL: 'https://reader:s3cret@id.example/jwks.json' })).not.toThrow(/s3cret/);
  });

  it('refuses a JWKS URL that is not http(s), and an empty value, naming the variable', () => {
    expect(() => loadEnvironment({ AUTH_JWKS_URL: 'file:///etc/jwks.json' })).toThrow(/AUTH_JWKS_URL/);
    expect(() => loadEnvironment({ AUTH_JWT_SECRET: '' })).toThrow(/AUTH_JWT_SECRET/);
    expect(() => loadEnvironment({ AUTH_MODE: 'none' })).toThrow(/AUTH_MODE/);
  });

  it('generates a secret in development mode when none is given, and any secret will do there', () => {
    const generated = resolveAuthentication(loadEnvironment({ AUTH_MODE: 'development' }));
    expect(generated.development).toEqual({ secretGenerated: true });
    expect('secret' in generated.keys && generated.keys.secret.length).toBeGreaterThanOrEqual(32);
    const other = resolveAuthentication(loadEnvironment({ AUTH_MODE: 'development' }));
    expect(other.keys).not.toEqual(generated.keys);
    expect(resolveAuthentication(loadEnvironment({ AUTH_MODE: 'development', AUTH_JWT_SECRET: 'dev' }))).toEqual({
      keys: { secret: 'dev' },
      development: { secretGenerated: false },
    });
  });

  it('refuses development mode with a JWKS URL: it signs its own tokens', () => {
    expect(() =>
      resolveAuthentication(loadEnvironment({ AUTH_MODE: 'development', AUTH_JWKS_URL: 'https://id.example/jwks.json', AUTH_AUDIENCE: 'a' })),
    ).toThrow(/unset AUTH_JWKS_URL/);
  });
});
