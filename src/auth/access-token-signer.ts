import { SignJWT } from 'jose';
import { SCOPES } from './scopes';

export interface AccessTokenClaims {
  /** The caller (`sub`): a user, or a client of the client-credentials grant. */
  subject: string;
  scopes: readonly string[];
  issuer?: string;
  audience?: string;
  expiresInSeconds: number;
}

/**
 * An HS256 access token as an issuer sharing AUTH_JWT_SECRET would sign it: `sub`, `scope`
 * (space-separated), `iat`, `exp`, and `iss` / `aud` when given. For development mode, tests and
 * the bench; production tokens come from the organisation's issuer.
 */
export async function signAccessToken(secret: string, claims: AccessTokenClaims): Promise<string> {
  const jwt = new SignJWT({ scope: claims.scopes.join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.subject)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + claims.expiresInSeconds);
  if (claims.issuer) jwt.setIssuer(claims.issuer);
  if (claims.audience) jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** How long a development token stays valid: a working day and then some. */
export const DEVELOPMENT_TOKEN_SECONDS = 24 * 3600;

/** A token with every scope for development mode (`npm start` prints one). */
export function signDevelopmentToken(settings: { secret: string; issuer?: string; audience?: string }): Promise<string> {
  return signAccessToken(settings.secret, {
    subject: 'developer',
    scopes: SCOPES,
    issuer: settings.issuer,
    audience: settings.audience,
    expiresInSeconds: DEVELOPMENT_TOKEN_SECONDS,
  });
}
