import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from '../../../database/bigint-column';
import type { UserStatus } from '../domain/user';

/**
 * The users' read model, built by userProfilesProjection after the commit (eventually consistent):
 * where queries over many users belong. `GET /users/{id}` reads the user's own row instead, which
 * is never behind the command that wrote it (read-your-writes).
 */
@Entity('user_profiles')
export class UserProfileRecord {
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

  @Column('timestamptz', { name: 'registered_at' })
  registeredAt: Date;

  @Column('timestamptz', { name: 'updated_at' })
  updatedAt: Date;
}
