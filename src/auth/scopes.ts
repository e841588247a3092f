/**
 * The scopes an access token grants, each one a space-separated entry of its `scope` claim (RFC
 * 8693 §4.2, RFC 9068), or an entry of an `scp` array. An endpoint names the scopes it needs with
 * `@RequireScopes`; a token must carry all of them.
 */
export const SCOPES = ['users:read', 'users:write', 'orders:read', 'orders:write', 'admin'] as const;

export type Scope = (typeof SCOPES)[number];

/** The scopes a token's claims grant: `scope` (space-separated) and `scp` (array or space-separated). */
export function scopesOf(claims: Record<string, unknown>): Set<string> {
  const granted = new Set<string>();
  for (const claim of [claims.scope, claims.scp]) {
    const entries = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : [];
    for (const entry of entries) if (typeof entry === 'string' && entry !== '') granted.add(entry);
  }
  return granted;
}
