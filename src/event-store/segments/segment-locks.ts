/**
 * The SQL condition on a `pg_locks` row aliased `l` that makes it a granted segment lock of this
 * database (SubscriptionLeases): `pg_advisory_lock(hashtext(key), n)` with key `'<id>/<segments>'`
 * given as the SQL expression `keySql`, shown in pg_locks as two int4 keys (objsubid 2):
 * `classid` the unsigned hashtext, `objid` n. `lockSql`, when given, is n: a segment, or the
 * segment count for the membership lock every process running the subscription holds shared.
 */
export function segmentLockCondition(keySql: string, lockSql?: string): string {
  return `l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND l.classid::text::bigint = (hashtext(${keySql})::bigint & 4294967295)${lockSql === undefined ? '' : ` AND l.objid::text::int = ${lockSql}`}`;
}
