import { ValueTransformer } from 'typeorm';

/**
 * PostgreSQL bigint arrives as a string (pg's default); amounts here stay far below 2^53, so
 * numbers are safe. The one rule for entities (bigintAsNumber) and for rows read by plain SQL.
 */
export function bigintToNumber(value: string): number {
  return Number(value);
}

export const bigintAsNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | null) => (value === null ? null : bigintToNumber(value)),
};
