import { ValueTransformer } from 'typeorm';

/** PostgreSQL bigint arrives as a string; amounts here stay far below 2^53, so numbers are safe. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
