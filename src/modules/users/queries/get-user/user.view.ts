import type { UserStatus } from '../../domain/user';

export interface UserView {
  id: string;
  email: string;
  name: string;
  status: UserStatus;
  creditLimit: number;
  creditReserved: number;
  /** The stream version this view reflects; also its `ETag`. */
  version: number;
  registeredAt: string;
  updatedAt: string;
}
