import { apiConnectionDemand } from './api-connection-demand';
import { assessConnectionBudget, describeConnectionBudget, type ServerConnectionLimits } from './connection-budget';

/** PostgreSQL's defaults, for a role that is not a superuser. */
const DEFAULTS: ServerConnectionLimits = {
  maxConnections: 100,
  superuserReservedConnections: 3,
  reservedConnections: 0,
  superuser: false,
  roleConnectionLimit: -1,
  databaseConnectionLimit: -1,
};

describe('the connection budget of one process', () => {
  it('counts an API process at the defaults as its pool plus LISTEN, the subscription leases and the relay lease: 23 of 97, 4 fit', () => {
    const demand = apiConnectionDemand({ DATABASE_POOL_SIZE: 20, RELAY_ENABLED: true });
    expect(assessConnectionBudget(demand, DEFAULTS)).toEqual({
      demand: 23,
      available: 97,
      limitedBy: 'max_connections 100 - superuser_reserved_connections 3',
      raise: 'raise max_connections',
      processesThatFit: 4,
      verdict: 'fits',
    });
    expect(describeConnectionBudget(demand, assessConnectionBudget(demand, DEFAULTS))).toEqual({
      level: 'log',
      message:
        'this process opens up to 23 PostgreSQL connections (pool 20, LISTEN 1, subscription leases 1, relay lease 1) ' +
        'of the 97 the server allows (max_connections 100 - superuser_reserved_connections 3): 4 processes like it fit',
    });
  });

  it('does not count the relay lease of a process that does not relay', () => {
    expect(assessConnectionBudget(apiConnectionDemand({ DATABASE_POOL_SIZE: 20, RELAY_ENABLED: false }), DEFAULTS).demand).toBe(22);
  });

  it('warns when one process alone plans more than half of what the server allows', () => {
    const halfPlusOne = { pool: 49, sessions: {} };
    expect(assessConnectionBudget({ pool: 48, sessions: {} }, DEFAULTS).verdict).toBe('fits');
    expect(assessConnectionBudget(halfPlusOne, DEFAULTS).verdict).toBe('over-share');
    expect(describeConnectionBudget(halfPlusOne, assessConnectionBudget(halfPlusOne, DEFAULTS))).toMatchObject({
      level: 'warn',
      message: expect.stringContaining('more than half, so a second process like it'),
    });
    expect(assessConnectionBudget({ pool: 98, sessions: {} }, DEFAULTS)).toMatchObject({ verdict: 'over-available', processesThatFit: 0 });
  });

  it("takes the lowest of the server's slots, the role's and the database's CONNECTION LIMIT, and subtracts reserved_connections", () => {
    expect(assessConnectionBudget({ pool: 10, sessions: {} }, { ...DEFAULTS, roleConnectionLimit: 30, databaseConnectionLimit: 50 })).toMatchObject({
      available: 30,
      limitedBy: "the role's CONNECTION LIMIT 30",
    });
    expect(assessConnectionBudget({ pool: 10, sessions: {} }, { ...DEFAULTS, databaseConnectionLimit: 15 })).toMatchObject({ available: 15, verdict: 'over-share' });
    expect(assessConnectionBudget({ pool: 10, sessions: {} }, { ...DEFAULTS, reservedConnections: 5 })).toMatchObject({
      available: 92,
      limitedBy: 'max_connections 100 - superuser_reserved_connections 3 - reserved_connections 5',
    });
  });

  it('advises raising the limit that binds: max_connections, or the role\'s or the database\'s CONNECTION LIMIT', () => {
    const advice = (limits: Partial<ServerConnectionLimits>) => describeConnectionBudget({ pool: 20, sessions: {} }, assessConnectionBudget({ pool: 20, sessions: {} }, { ...DEFAULTS, ...limits })).message;
    expect(advice({ maxConnections: 30 })).toMatch(/lower DATABASE_POOL_SIZE or raise max_connections/);
    expect(advice({ roleConnectionLimit: 10 })).toMatch(/lower DATABASE_POOL_SIZE or raise the role's CONNECTION LIMIT \(ALTER ROLE … CONNECTION LIMIT\)/);
    expect(advice({ roleConnectionLimit: 10 })).not.toMatch(/max_connections/);
    expect(advice({ databaseConnectionLimit: 30 })).toMatch(/lower DATABASE_POOL_SIZE or raise the database's CONNECTION LIMIT \(ALTER DATABASE … CONNECTION LIMIT\)/);
  });

  it('lets a superuser count every slot and ignores the CONNECTION LIMITs, which PostgreSQL does not apply to it', () => {
    expect(assessConnectionBudget({ pool: 10, sessions: {} }, { ...DEFAULTS, superuser: true, roleConnectionLimit: 5, databaseConnectionLimit: 5 })).toMatchObject({
      available: 100,
      limitedBy: 'max_connections 100 (superuser)',
    });
  });
});
