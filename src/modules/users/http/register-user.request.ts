import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { DEFAULT_CREDIT_LIMIT, MAX_CREDIT_LIMIT } from '../domain/user';

export class RegisterUserRequest {
  @ApiProperty({ example: 'ada@example.com', format: 'email', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsEmail()
  email: string;

  @ApiProperty({ example: 'Ada Lovelace', minLength: 1, maxLength: 200 })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({
    type: 'integer',
    example: DEFAULT_CREDIT_LIMIT,
    default: DEFAULT_CREDIT_LIMIT,
    minimum: 0,
    maximum: MAX_CREDIT_LIMIT,
    description: 'in minor units',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_CREDIT_LIMIT)
  creditLimit?: number;
}

export class ChangeUserEmailRequest {
  @ApiProperty({ example: 'ada.lovelace@example.com', format: 'email', maxLength: 254 })
  @IsString()
  @MaxLength(254)
  @IsEmail()
  email: string;
}
