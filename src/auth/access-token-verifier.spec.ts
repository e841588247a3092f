import { SignJWT, UnsecuredJWT } from 'jose';
import { signAccessToken } from './access-token-signer';
import { AccessTokenVerifier } from './access-token-verifier';

const SECRET = 'a-shared-secret-of-at-least-32-characters';
const verifier = new AccessTokenVerifier({ keys: { secret: SECRET }, issuer: 'https://id.example', audience: 'orders-api' });
const claims = { subject: 'client-1', scopes: ['orders:read'], issuer: 'https://id.example', audience: 'orders-api', expiresInSeconds: 60 };
const bearer = (token: string) => `Bearer ${token}`;

describe('verifying a bearer access token', () => {
  it('accepts a token signed with the secret, with its subject and scopes', async () => {
    const result = await verifier.authenticate(bearer(await signAccessToken(SECRET, { ...claims, scopes: ['orders:read', 'orders:write'] })));
    expect(result).toEqual({ ok: true, principal: { subject: 'client-1', scopes: new Set(['orders:read', 'orders:write']) } });
  });

  it('takes the scheme in any case, as HTTP auth-schemes are', async () => {
    expect((await verifier.authenticate(`bearer ${await signAccessToken(SECRET, claims)}`)).ok).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['an empty bearer', 'Bearer '],
  ])('says the token is missing with %s', async (_name, header) => {
    expect(await verifier.authenticate(header)).toEqual({ ok: false, rejection: { reason: 'missing' } });
  });

  it('tells an expired token apart from an invalid one', async () => {
    const expired = await signAccessToken(SECRET, { ...claims, expiresInSeconds: -60 });
    expect(await verifier.authenticate(bearer(expired))).toEqual({ ok: false, rejection: { reason: 'expired' } });
  });

  it.each([
    ['another secret', () => signAccessToken('another-secret-of-at-least-32-characters', claims), /signature/],
    ['another audience', () => signAccessToken(SECRET, { ...claims, audience: 'billing-api' }), /aud claim is not accepted/],
    ['another issuer', () => signAccessToken(SECRET, { ...claims, issuer: 'https://evil.example' }), /iss claim is not accepted/],
    ['no expiry', () => new SignJWT({ scope: 'orders:read' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.example').setAudience('orders-api').sign(new TextEncoder().encode(SECRET)), /exp claim is missing/],
    ['HS512', () => new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setIssuer('https://id.example').setAudience('orders-api').setExpirationTime('1m').sign(new TextEncoder().encode(SECRET)), /algorithm/],
    ['alg none', async () => new UnsecuredJWT({}).setIssuer('https://id.example').setAudience('orders-api').setExpirationTime('1m').encode(), /./],
    ['garbage', async () => 'abc.def.ghi', /malformed/],
  ])('refuses a token with %s as invalid', async (_name, sign, detail) => {
    const result = await verifier.authenticate(bearer(await sign()));
    expect(result).toEqual({ ok: false, rejection: { reason: 'invalid', detail: expect.stringMatching(detail) } });
  });

  it('reads scopes from an `scp` array too', async () => {
    const token = await new SignJWT({ scp: ['users:read', 'admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://id.example')
      .setAudience('orders-api')
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(SECRET));
    const result = await verifier.authenticate(bearer(token));
    expect(result.ok && [...result.principal.scopes].sort()).toEqual(['admin', 'users:read']);
  });
});

describe('remembering verified tokens', () => {
  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('checks the signature of a token once, not on every request with it', async () => {
    const verifying = new AccessTokenVerifier({ keys: { secret: SECRET }, issuer: 'https://id.example', audience: 'orders-api' });
    const signatureChecks = jest.spyOn(crypto.subtle, 'verify');
    const token = await signAccessToken(SECRET, claims);
    for (let request = 0; request < 3; request += 1) expect((await verifying.authenticate(bearer(token))).ok).toBe(true);
    expect(signatureChecks).toHaveBeenCalledTimes(1);
    // Another token, and a forged one (never remembered), are checked each time.
    expect((await verifying.authenticate(bearer(await signAccessToken(SECRET, { ...claims, subject: 'client-2' })))).ok).toBe(true);
    const forged = await signAccessToken('another-secret-of-at-least-32-characters', claims);
    for (let request = 0; request < 2; request += 1) expect((await verifying.authenticate(bearer(forged))).ok).toBe(false);
    expect(signatureChecks).toHaveBeenCalledTimes(4);
  });

  it('forgets a token when it expires, though it was verified before', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const verifying = new AccessTokenVerifier({ keys: { secret: SECRET }, issuer: 'https://id.example', audience: 'orders-api' });
    const token = await signAccessToken(SECRET, { ...claims, expiresInSeconds: 10 });
    expect((await verifying.authenticate(bearer(token))).ok).toBe(true);
    // Past its exp and the clock tolerance: verified again, and refused.
    jest.advanceTimersByTime(17_000);
    expect(await verifying.authenticate(bearer(token))).toEqual({ ok: false, rejection: { reason: 'expired' } });
  });
});
