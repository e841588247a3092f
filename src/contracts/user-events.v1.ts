import { IsEmail, IsISO8601, IsString, IsUUID, Length } from 'class-validator';

// Integration events of the Users module, version 1. Data only.

export class UserRegisteredV1 {
  static readonly type = 'com.example.users.user-registered.v1';
  @IsUUID() userId: string;
  @IsEmail() email: string;
  @IsString() @Length(1, 200) name: string;
  @IsISO8601() registeredAt: string;
}

export class UserEmailChangedV1 {
  static readonly type = 'com.example.users.user-email-changed.v1';
  @IsUUID() userId: string;
  @IsEmail() email: string;
  @IsISO8601() changedAt: string;
}

export class UserDeactivatedV1 {
  static readonly type = 'com.example.users.user-deactivated.v1';
  @IsUUID() userId: string;
  @IsISO8601() deactivatedAt: string;
}
