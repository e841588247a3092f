import { ApiProperty } from '@nestjs/swagger';
import type { UserStatus } from '../domain/user';

export class CreatedResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;
}

export class UserResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'ada@example.com' })
  email: string;

  @ApiProperty({ example: 'Ada Lovelace' })
  name: string;

  @ApiProperty({ enum: ['ACTIVE', 'DEACTIVATED'] })
  status: UserStatus;

  @ApiProperty({ type: 'integer', example: 100000, description: 'in minor units' })
  creditLimit: number;

  @ApiProperty({ type: 'integer', example: 0, description: 'in minor units' })
  creditReserved: number;

  @ApiProperty({ type: 'integer', example: 1, description: 'the stream version this view reflects' })
  version: number;

  @ApiProperty({ format: 'date-time' })
  registeredAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}
