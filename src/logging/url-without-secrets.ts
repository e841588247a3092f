/** Query parameters of a connection URL that carry a secret (libpq's `password`, and the like). */
const SECRET_PARAMETER = /pass|secret|token/i;
const HIDDEN = '***';

/**
 * A connection URL as it may be logged: the password (`user:password@`) and any query parameter
 * that looks like one replaced by `***`, the rest (scheme, user, host, port, database or vhost)
 * kept so an operator sees where the process connects. A string that is no URL is not shown at
 * all: it might be nothing but a secret. Nor is a URL with an `@` after its host: a password with
 * an unencoded `/`, `?` or `#` ends the authority early (`guest:1234#tail@host` parses as host
 * `guest`, port 1234), and the rest of the password is then in the path, query or fragment.
 * The fragment is dropped: a connection URL has no use for one.
 */
export function urlWithoutSecrets(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(not a URL)';
  }
  if (`${parsed.pathname}${parsed.search}${parsed.hash}`.includes('@')) return '(a URL with "@" after its host: percent-encode its password)';
  parsed.hash = '';
  if (parsed.password) parsed.password = HIDDEN;
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMETER.test(name)) parsed.searchParams.set(name, HIDDEN);
  }
  return parsed.toString();
}
