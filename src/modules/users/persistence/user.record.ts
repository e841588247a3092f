import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../../database/bigint-column';
import type { UserStatus } from '../domain/user';

/** The users write model: one row per user, the aggregate's current state. */
@Entity('users')
export class UserRecord {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  email: string;

  @Column('text')
  name: string;

  @Column('text')
  status: UserStatus;

  @Column('bigint', { name: 'credit_limit', transformer: bigintAsNumber })
  creditLimit: number;

  @Column('bigint', { name: 'credit_reserved', transformer: bigintAsNumber })
  creditReserved: number;

  @Column('integer')
  version: number;

  @Column('timestamptz', { name: 'created_at' })
  createdAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}
