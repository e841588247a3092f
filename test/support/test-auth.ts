import { signAccessToken } from '../../src/auth/access-token-signer';
import { SCOPES } from '../../src/auth/scopes';

/**
 * How every test app and test process verifies tokens: a shared HS256 secret with an issuer and an
 * audience, so tests of a wrong `iss` or `aud` mean something.
 */
export const TEST_AUTH = {
  secret: 'test-secret-of-the-e2e-suite-0123456789abcdef',
  issuer: 'https://issuer.test',
  audience: 'nest-eda-monolith-tests',
} as const;

/** The configuration variables of TEST_AUTH, for an app's environment or a child process's. */
export const TEST_AUTH_ENV: Record<string, string> = {
  AUTH_JWT_SECRET: TEST_AUTH.secret,
  AUTH_ISSUER: TEST_AUTH.issuer,
  AUTH_AUDIENCE: TEST_AUTH.audience,
};

/**
 * A token the test apps accept, with every scope unless told otherwise. `secret`, `issuer`,
 * `audience` and `expiresInSeconds` (negative: expired that long ago) make the ones they refuse.
 */
export function testToken(
  options: { subject?: string; scopes?: readonly string[]; secret?: string; issuer?: string; audience?: string; expiresInSeconds?: number } = {},
): Promise<string> {
  return signAccessToken(options.secret ?? TEST_AUTH.secret, {
    subject: options.subject ?? 'test-client',
    scopes: options.scopes ?? SCOPES,
    issuer: options.issuer ?? TEST_AUTH.issuer,
    audience: options.audience ?? TEST_AUTH.audience,
    expiresInSeconds: options.expiresInSeconds ?? 3600,
  });
}

let allScopes: Promise<string> | undefined;

/** `Authorization` header with a token of every scope (signed once per test file). */
export async function testAuthorization(): Promise<{ authorization: string }> {
  allScopes ??= testToken();
  return { authorization: `Bearer ${await allScopes}` };
}
