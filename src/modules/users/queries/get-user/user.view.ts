import type { UserStatus } from '../../domain/user';

export interface UserView {
  id: string;
  email: string;
  name: string;
  status: UserStatus;
  creditLimit: number;
  creditReserved: number;
  version: number;
  registeredAt: string;
  updatedAt: string;
}
