/**
 * The oldest PostgreSQL the project runs on: 14, for `idle_session_timeout` (a frozen process's
 * leases, src/database/lease-session.ts) and `client_connection_check_interval` (a killed
 * process's statement, src/database/pool-options.ts). `xid8` and `pg_current_xact_id()` need 13.
 */
export const OLDEST_SUPPORTED_SERVER_VERSION_NUM = 140000;

/** Why the server (`server_version_num`, e.g. 150020, and `server_version`, e.g. "15.2") cannot serve, or undefined when it can. */
export function unsupportedServerProblem(versionNum: number, version: string): string | undefined {
  if (versionNum >= OLDEST_SUPPORTED_SERVER_VERSION_NUM) return undefined;
  return `PostgreSQL ${version} is too old: the project needs PostgreSQL 14 or later (idle_session_timeout, client_connection_check_interval)`;
}
