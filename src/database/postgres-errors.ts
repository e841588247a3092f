/** The parts of a node-postgres error this code branches on. */
export interface PostgresError {
  code: string;
  constraint?: string;
}

export function isPostgresError(error: unknown): error is PostgresError {
  return typeof error === 'object' && error !== null && typeof (error as PostgresError).code === 'string';
}

export const UNIQUE_VIOLATION = '23505';
