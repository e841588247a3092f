import { Logger } from '@nestjs/common';
import { webcrypto } from 'node:crypto';
import { createRemoteJWKSet, errors, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { urlWithoutSecrets } from '../logging/url-without-secrets';
import type { AuthenticationSettings } from './authentication-settings';
import { scopesOf } from './scopes';

/** Who called, as a verified token says: its `sub` (when it has one) and the scopes it grants. */
export interface Principal {
  subject?: string;
  scopes: ReadonlySet<string>;
}

/**
 * Why a request is not authenticated. `missing`: no bearer token (RFC 6750 §3.1: the challenge
 * carries no error code); `invalid` / `expired`: a token that does not verify (`invalid_token`);
 * `unavailable`: the issuer's key set cannot be fetched, so no token can be checked now (a 503,
 * not the client's fault).
 */
export type TokenRejection =
  | { reason: 'missing' }
  | { reason: 'invalid'; detail: string }
  | { reason: 'expired' }
  | { reason: 'unavailable'; detail: string };

export type Authentication = { ok: true; principal: Principal } | { ok: false; rejection: TokenRejection };

/** Leeway for the clocks of the issuer and this host when checking `exp` and `nbf`, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 5;
/** While the key set cannot be fetched, why is logged at most this often (every request is refused meanwhile). */
export const KEY_SET_WARNING_INTERVAL_MS = 60_000;
/**
 * Tokens verified lately, remembered so that a client's next requests with the same token skip the
 * signature check (an HMAC or a public-key verification through WebCrypto, about a third of the
 * API's CPU per command without it: README, "Where the time goes"). An entry lasts until the
 * token's `exp` and at most VERIFIED_TOKEN_TTL_MS, so a key removed from the issuer's JWKS stops a
 * token it signed within that long; a refused token is never remembered.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
const VERIFIED_TOKENS_MAX = 10_000;
const SHARED_SECRET_ALGORITHMS = ['HS256'];
const PUBLIC_KEY_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/**
 * Verifies bearer access tokens (JWS-signed JWTs) with `jose`: the signature with the shared secret
 * (HS256) or with a key of the issuer's JWKS (fetched on first use and on an unknown `kid`, cached),
 * `exp` required and checked, `nbf`, and `iss` / `aud` when configured. When the key set cannot be
 * fetched, the cause (which the 503 does not tell the client) is logged as a warning, at most once
 * per KEY_SET_WARNING_INTERVAL_MS.
 */
export class AccessTokenVerifier {
  private readonly logger = new Logger('Authentication');
  /** The shared secret imported once as a WebCrypto key (jose imports raw bytes on every verification), or the JWKS. */
  private readonly key: Promise<webcrypto.CryptoKey> | JWTVerifyGetKey;
  private readonly algorithms: string[];
  private keySetWarnedAt = -Infinity;
  private readonly verified = new LRUCache<string, Principal>({
    max: VERIFIED_TOKENS_MAX,
    ttl: VERIFIED_TOKEN_TTL_MS,
    // The wall clock, as the tokens' exp is.
    perf: { now: () => Date.now() },
  });

  constructor(private readonly settings: AuthenticationSettings) {
    if ('secret' in settings.keys) {
      this.key = webcrypto.subtle.importKey('raw', new TextEncoder().encode(settings.keys.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
      this.algorithms = SHARED_SECRET_ALGORITHMS;
    } else {
      this.key = createRemoteJWKSet(new URL(settings.keys.jwksUrl));
      this.algorithms = PUBLIC_KEY_ALGORITHMS;
    }
  }

  /** The `Authorization` header's bearer token, verified. */
  async authenticate(authorization: string | undefined): Promise<Authentication> {
    const token = bearerTokenOf(authorization);
    if (token === undefined) return { ok: false, rejection: { reason: 'missing' } };
    const remembered = this.verified.get(token);
    if (remembered) return { ok: true, principal: remembered };
    try {
      const options = {
        algorithms: this.algorithms,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      };
      const key = this.key;
      const { payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, await key, options);
      const principal = principalOf(payload);
      // requiredClaims: exp is a number here. Remembered until it passes, at most VERIFIED_TOKEN_TTL_MS.
      const untilExpiryMs = (payload.exp as number) * 1000 - Date.now();
      if (untilExpiryMs > 0) this.verified.set(token, principal, { ttl: Math.min(VERIFIED_TOKEN_TTL_MS, untilExpiryMs) });
      return { ok: true, principal };
    } catch (error) {
      const rejection = rejectionOf(error, typeof this.key === 'function');
      if (rejection.reason === 'unavailable') this.warnKeySetUnavailable(error);
      return { ok: false, rejection };
    }
  }

  private warnKeySetUnavailable(error: unknown): void {
    const now = performance.now();
    if (now - this.keySetWarnedAt < KEY_SET_WARNING_INTERVAL_MS || !('jwksUrl' in this.settings.keys)) return;
    this.keySetWarnedAt = now;
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    this.logger.warn(
      `cannot fetch the token issuer's key set from ${urlWithoutSecrets(this.settings.keys.jwksUrl)}: ${error instanceof Error ? error.message : String(error)}${cause}; ` +
        'requests that need a token are answered 503 until it can be fetched',
    );
  }
}

/** RFC 6750 §2.1: `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
function bearerTokenOf(authorization: string | undefined): string | undefined {
  const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
  return match?.[1];
}

function principalOf(payload: JWTPayload): Principal {
  return { subject: typeof payload.sub === 'string' ? payload.sub : undefined, scopes: scopesOf(payload) };
}

function rejectionOf(error: unknown, fromKeySet: boolean): TokenRejection {
  if (error instanceof errors.JWTExpired) return { reason: 'expired' };
  // The key set could not be fetched or read: a timeout, a plain JOSEError (not 200, not JSON), an
  // invalid set, or a network failure; no fault of the token.
  const keySetUnavailable =
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    !(error instanceof errors.JOSEError) ||
    error.code === errors.JOSEError.code;
  if (fromKeySet && keySetUnavailable) return { reason: 'unavailable', detail: 'the signing keys of the token issuer cannot be fetched now' };
  if (!(error instanceof errors.JOSEError)) return { reason: 'invalid', detail: 'the token is malformed' };
  return { reason: 'invalid', detail: detailOf(error) };
}

/** What a client may learn about its token's fault, without echoing any part of it. */
function detailOf(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim ${error.reason === 'missing' ? 'is missing' : 'is not accepted'}`;
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) return 'the token signature does not verify';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this API does not accept';
  return 'the token is malformed';
}
