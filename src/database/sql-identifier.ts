/** `name` as a quoted SQL identifier, for names that come from the catalog. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const MAX_IDENTIFIER_LENGTH = 63;

/** Throws unless `name` can be written into SQL unquoted: lower-case, no surprises, not truncated. */
export function assertPlainIdentifier(name: string): void {
  if (!PLAIN_IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER_LENGTH) {
    throw new Error(`"${name}" is not a plain SQL identifier (lower-case letters, digits, underscores, at most ${MAX_IDENTIFIER_LENGTH})`);
  }
}
