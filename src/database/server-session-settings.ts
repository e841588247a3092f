/**
 * The server's side of TCP keepalive on every session of ours (pool connections, lease sessions,
 * the LISTEN session): a client whose host vanished without a FIN or RST is given up after about
 * 10 + 5 * 3 = 25 s instead of the OS's 2 h 11 min, and its backend (a connection slot) freed.
 * Ignored on a Unix socket, where a peer cannot vanish.
 */
export const SERVER_KEEPALIVE = { idleSeconds: 10, intervalSeconds: 5, count: 3 };

/** SERVER_KEEPALIVE as the settings that carry it. */
export const SERVER_KEEPALIVE_SETTINGS: Readonly<Record<string, number>> = {
  tcp_keepalives_idle: SERVER_KEEPALIVE.idleSeconds,
  tcp_keepalives_interval: SERVER_KEEPALIVE.intervalSeconds,
  tcp_keepalives_count: SERVER_KEEPALIVE.count,
};

/**
 * One statement that sets each of `settings` for the rest of the session (`set_config(name,
 * value, false)`): one round trip for all of them. Names and values are the code's own constants,
 * never input.
 */
export function setSessionSettingsSql(settings: Readonly<Record<string, number>>): string {
  return `SELECT ${Object.entries(settings)
    .map(([name, value]) => `set_config('${name}', '${value}', false)`)
    .join(', ')}`;
}
