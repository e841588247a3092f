import { randomBytes } from 'node:crypto';
import { InvalidEnvironmentError } from '../config/environment';

/** The configuration variables of authentication (src/config/environment.ts, httpSecuritySettings). */
export interface AuthenticationEnvironment {
  AUTH_MODE: 'jwt' | 'development';
  AUTH_JWT_SECRET?: string;
  AUTH_JWKS_URL?: string;
  AUTH_ISSUER?: string;
  AUTH_AUDIENCE?: string;
}

/**
 * How an HTTP process verifies bearer tokens: with a shared secret (HS256) or with the issuer's
 * published keys (a JWKS URL), and the `iss` / `aud` every token must carry when set.
 * `development` is set in development mode, where the secret may be one generated at start.
 */
export interface AuthenticationSettings {
  keys: { secret: string } | { jwksUrl: string };
  issuer?: string;
  audience?: string;
  development?: { secretGenerated: boolean };
}

/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash, 256 bits. */
export const MIN_SECRET_LENGTH = 32;

const HOW_TO_CONFIGURE =
  'set AUTH_JWT_SECRET (a shared HS256 secret of at least 32 characters) or AUTH_JWKS_URL (the issuer\'s JSON Web Key Set, with AUTH_AUDIENCE), ' +
  'and AUTH_ISSUER / AUTH_AUDIENCE to check those claims; or AUTH_MODE=development on your own machine (npm start does that)';

/**
 * Resolves the authentication of an HTTP process once, at start. Refuses (InvalidEnvironmentError,
 * naming the variables) a process configured with no way to verify tokens, with both ways, with a
 * short secret, or with a JWKS URL but no audience (an issuer signs tokens for many APIs; without
 * `aud` this API would accept every one of them). Development mode signs with AUTH_JWT_SECRET, or
 * with a random secret generated here when it is unset.
 */
export function resolveAuthentication(environment: AuthenticationEnvironment): AuthenticationSettings {
  const { AUTH_MODE, AUTH_JWT_SECRET, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE } = environment;
  const claims = { ...(AUTH_ISSUER && { issuer: AUTH_ISSUER }), ...(AUTH_AUDIENCE && { audience: AUTH_AUDIENCE }) };
  if (AUTH_MODE === 'development') {
    if (AUTH_JWKS_URL) refuse('AUTH_MODE=development signs its own tokens with a secret; unset AUTH_JWKS_URL');
    const secret = AUTH_JWT_SECRET ?? randomBytes(32).toString('base64url');
    return { keys: { secret }, ...claims, development: { secretGenerated: AUTH_JWT_SECRET === undefined } };
  }
  if (AUTH_JWT_SECRET && AUTH_JWKS_URL) refuse('set either AUTH_JWT_SECRET or AUTH_JWKS_URL, not both');
  if (AUTH_JWT_SECRET) {
    if (AUTH_JWT_SECRET.length < MIN_SECRET_LENGTH) refuse(`AUTH_JWT_SECRET: at least ${MIN_SECRET_LENGTH} characters (an HS256 key of 256 bits)`);
    return { keys: { secret: AUTH_JWT_SECRET }, ...claims };
  }
  if (AUTH_JWKS_URL) {
    if (!AUTH_AUDIENCE) refuse('AUTH_AUDIENCE is required with AUTH_JWKS_URL: the audience this API\'s tokens are issued for');
    return { keys: { jwksUrl: AUTH_JWKS_URL }, ...claims };
  }
  return refuse(`no authentication is configured: ${HOW_TO_CONFIGURE}`);
}

function refuse(problem: string): never {
  throw new InvalidEnvironmentError(`Invalid configuration: ${problem}`);
}
