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
