import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * The fingerprint of a request body that an `Idempotency-Key` is bound to: SHA-256 (base64url)
 * of its RFC 8785 JSON Canonicalization Scheme form. JSON objects are unordered, so two bodies
 * that differ only in the order of their members (at any depth) or in insignificant whitespace
 * have the same fingerprint; any different value, array order included, gives another.
 * A missing body is fingerprinted as `null`.
 *
 * `body` is parsed JSON; its strings must be well-formed Unicode (JCS refuses a lone surrogate:
 * callers refuse such bodies first, see `unstorableTextIn`).
 */
export function fingerprintOf(body: unknown): string {
  return sha256(canonicalize(body ?? null) ?? 'null');
}

/**
 * The fingerprint the service stored before it canonicalized bodies (JSON.stringify in the order
 * received). Still accepted for keys recorded by an older release, so a retry that straddles an
 * upgrade replays instead of being refused.
 */
export function legacyFingerprintOf(body: unknown): string {
  return sha256(JSON.stringify(body ?? null));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
