import { InvalidEnvironmentError, loadEnvironment } from '../config/environment';
import { loadConsumerEnvironment } from '../consumer/config/consumer-environment';
import { AuthenticationEnvironment, isLoopbackHost, resolveAuthentication } from './authentication-settings';

const SECRET = 'a-shared-secret-of-at-least-32-characters';

/** A process listening on 127.0.0.1 (the default HOST). */
const resolveOnLoopback = (environment: AuthenticationEnvironment) => resolveAuthentication(environment, '127.0.0.1');

describe('resolving the authentication of an HTTP process', () => {
  it('refuses a process with no way to verify tokens, naming the variables that give one', () => {
    for (const environment of [loadEnvironment({}), loadConsumerEnvironment({})]) {
      expect(() => resolveOnLoopback(environment)).toThrow(InvalidEnvironmentError);
      expect(() => resolveOnLoopback(environment)).toThrow(/AUTH_JWT_SECRET.*AUTH_JWKS_URL.*AUTH_MODE=development/);
    }
  });

  it('lets the CLIs, which serve no HTTP, load their configuration without any', () => {
    expect(loadEnvironment({}).AUTH_MODE).toBe('jwt');
  });

  it('verifies with a shared secret, and the issuer and audience when they are set', () => {
    expect(resolveOnLoopback(loadEnvironment({ AUTH_JWT_SECRET: SECRET, AUTH_ISSUER: 'https://id.example', AUTH_AUDIENCE: 'orders-api' }))).toEqual({
      keys: { secret: SECRET },
      issuer: 'https://id.example',
      audience: 'orders-api',
    });
  });

  it('refuses a shared secret shorter than an HS256 key (32 characters)', () => {
    expect(() => resolveOnLoopback(loadEnvironment({ AUTH_JWT_SECRET: 'short' }))).toThrow(/AUTH_JWT_SECRET: at least 32 characters/);
  });

  it('verifies with a JWKS URL only together with an audience', () => {
    expect(() => resolveOnLoopback(loadEnvironment({ AUTH_JWKS_URL: 'https://id.example/jwks.json' }))).toThrow(/AUTH_AUDIENCE is required with AUTH_JWKS_URL/);
    expect(resolveOnLoopback(loadEnvironment({ AUTH_JWKS_URL: 'https://id.example/jwks.json', AUTH_AUDIENCE: 'orders-api' }))).toEqual({
      keys: { jwksUrl: 'https://id.example/jwks.json' },
      audience: 'orders-api',
    });
  });

  it('refuses a secret and a JWKS URL together', () => {
    expect(() =>
      resolveOnLoopback(loadEnvironment({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://id.example/jwks.json', AUTH_AUDIENCE: 'a' })),
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
    const generated = resolveOnLoopback(loadEnvironment({ AUTH_MODE: 'development' }));
    expect(generated.development).toEqual({ secretGenerated: true });
    expect('secret' in generated.keys && generated.keys.secret.length).toBeGreaterThanOrEqual(32);
    const other = resolveOnLoopback(loadEnvironment({ AUTH_MODE: 'development' }));
    expect(other.keys).not.toEqual(generated.keys);
    expect(resolveOnLoopback(loadEnvironment({ AUTH_MODE: 'development', AUTH_JWT_SECRET: 'dev' }))).toEqual({
      keys: { secret: 'dev' },
      development: { secretGenerated: false },
    });
  });

  it('refuses development mode with a JWKS URL: it signs its own tokens', () => {
    expect(() =>
      resolveOnLoopback(loadEnvironment({ AUTH_MODE: 'development', AUTH_JWKS_URL: 'https://id.example/jwks.json', AUTH_AUDIENCE: 'a' })),
    ).toThrow(/unset AUTH_JWKS_URL/);
  });

  it('refuses development mode unless the process listens on a loopback address: its tokens carry every scope', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'api.example.com', '[::]']) {
      for (const environment of [loadEnvironment({ AUTH_MODE: 'development', HOST: host }), loadEnvironment({ AUTH_MODE: 'development', AUTH_JWT_SECRET: SECRET })]) {
        expect(() => resolveAuthentication(environment, host)).toThrow(InvalidEnvironmentError);
        expect(() => resolveAuthentication(environment, host)).toThrow(`listens on loopback addresses only, not on ${host}`);
        expect(() => resolveAuthentication(environment, host)).toThrow(/set AUTH_JWT_SECRET .* or AUTH_JWKS_URL/);
      }
    }
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect(resolveAuthentication(loadEnvironment({ AUTH_MODE: 'development' }), host).development).toEqual({ secretGenerated: true });
    }
    // Configured authentication listens anywhere.
    expect(resolveAuthentication(loadEnvironment({ AUTH_JWT_SECRET: SECRET }), '0.0.0.0')).toEqual({ keys: { secret: SECRET } });
  });

  it('tells loopback hosts from the others', () => {
    expect(['localhost', '127.0.0.1', '127.255.255.254', '::1', '[::1]', '::ffff:127.0.0.1'].filter(isLoopbackHost)).toHaveLength(6);
    expect(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '::ffff:10.0.0.1', 'localhost.example.com', '127.0.0.1.nip.io', ''].filter(isLoopbackHost)).toEqual([]);
  });

  it('tells loopback IPv6 addresses in any of their spellings (RFC 4291 2.2: zeros compressed anywhere, hex or dotted IPv4-mapped)', () => {
    const loopback = ['0::1', '::0:1', '0:0::1', '0:0:0:0:0:0:0:0001', '::ffff:7f00:1', '::FFFF:127.0.0.1', '0:0:0:0:0:ffff:127.0.0.1', '[0::1]'];
    expect(loopback.filter((host) => !isLoopbackHost(host))).toEqual([]);
    expect(['::2', '1::1', '::ffff:a00:1', '::ffff:8000:1', '0:0:0:0:0:ffff:10.0.0.1', '::127.0.0.1', 'fe80::1%eth0'].filter(isLoopbackHost)).toEqual([]);
  });
});
