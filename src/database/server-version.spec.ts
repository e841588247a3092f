import { unsupportedServerProblem } from './server-version';

describe('unsupportedServerProblem', () => {
  it('accepts PostgreSQL 14 and later', () => {
    expect(unsupportedServerProblem(140000, '14.0')).toBeUndefined();
    expect(unsupportedServerProblem(150020, '15.20')).toBeUndefined();
    expect(unsupportedServerProblem(170002, '17.2')).toBeUndefined();
  });

  it('refuses an older server, naming its version and what is missing', () => {
    expect(unsupportedServerProblem(130016, '13.16')).toBe(
      'PostgreSQL 13.16 is too old: the project needs PostgreSQL 14 or later (idle_session_timeout, client_connection_check_interval)',
    );
  });
});
