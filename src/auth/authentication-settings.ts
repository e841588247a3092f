import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
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
 * Whether `host`, the interface an HTTP process listens on, is reachable from this machine only:
 * `localhost`, an IPv4 address in 127.0.0.0/8, `::1`, or an IPv4-mapped 127.x address. Any other
 * name or address (`0.0.0.0`, `::`, a host name that may resolve to anything) is not.
 */
export function isLoopbackHost(host: string): boolean {
  const address = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (address === 'localhost') return true;
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) !== 6) return false;
  // One spelling per address (RFC 5952: zeros compressed, lower case, an IPv4-mapped one in hex):
  // ::1 is also 0::1 or 0:0:0:0:0:0:0:1, and ::ffff:127.0.0.1 also 0:0:0:0:0:ffff:7f00:1.
  // A zone (fe80::1%eth0) is no loopback address, and URL refuses it.
  if (address.includes('%')) return false;
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1);
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/**
 * Resolves the authentication of an HTTP process once, at start. Refuses (InvalidEnvironmentError,
 * naming the variables) a process configured with no way to verify tokens, with both ways, with a
 * short secret, or with a JWKS URL but no audience (an issuer signs tokens for many APIs; without
 * `aud` this API would accept every one of them). Development mode signs with AUTH_JWT_SECRET, or
 * with a random secret generated here when it is unset; it is refused unless the process listens
 * on a loopback address (`listensOn`, its HOST or CONSUMER_HOST: see isLoopbackHost), because
 * `npm start` prints a token with every scope for it, and a container or server started that way
 * would hand whoever reads its logs the whole API.
 */
export function resolveAuthentication(environment: AuthenticationEnvironment, listensOn: string): AuthenticationSettings {
  const { AUTH_MODE, AUTH_JWT_SECRET, AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE } = environment;
  const claims = { ...(AUTH_ISSUER && { issuer: AUTH_ISSUER }), ...(AUTH_AUDIENCE && { audience: AUTH_AUDIENCE }) };
  if (AUTH_MODE === 'development') {
    if (!isLoopbackHost(listensOn)) refuse(developmentModeOffLoopback(listensOn));
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

/** Why development mode is refused on `host`, and what to configure instead. */
export function developmentModeOffLoopback(host: string): string {
  return (
    `AUTH_MODE=development (what npm start runs when no authentication is configured) listens on loopback addresses only, not on ${host}: ` +
    `its tokens, printed at start, carry every scope. To listen there, ${HOW_TO_CONFIGURE.replace(/; or AUTH_MODE=development.*$/, '')}`
  );
}

function refuse(problem: string): never {
  throw new InvalidEnvironmentError(`Invalid configuration: ${problem}`);
}
