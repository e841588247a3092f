import { IsEmail, IsIn, IsInt, IsISO8601, IsString, IsUUID, Length, Min } from 'class-validator';

// Integration events of the Users module, version 1. Data only.

/** CloudEvents `source` of every event of a user's stream (credit events included): with `subject`, it scopes `sequence`. */
export const USER_EVENTS_SOURCE = '/eda/users';

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

export class CreditReservedV1 {
  static readonly type = 'com.example.users.credit-reserved.v1';
  @IsUUID() userId: string;
  @IsUUID() orderId: string;
  @IsInt() @Min(0) amount: number;
  @IsInt() @Min(0) creditReserved: number;
  @IsISO8601() reservedAt: string;
}

/** Why the Users module refuses credit for an order (CreditRejectedV1.reason). */
export const CREDIT_REJECTION_REASONS_V1 = ['insufficient credit', 'customer deactivated'] as const;
export type CreditRejectionReasonV1 = (typeof CREDIT_REJECTION_REASONS_V1)[number];

export class CreditRejectedV1 {
  static readonly type = 'com.example.users.credit-rejected.v1';
  @IsUUID() userId: string;
  @IsUUID() orderId: string;
  @IsInt() @Min(0) amount: number;
  @IsIn(CREDIT_REJECTION_REASONS_V1) reason: CreditRejectionReasonV1;
  @IsISO8601() rejectedAt: string;
}

export class CreditReleasedV1 {
  static readonly type = 'com.example.users.credit-released.v1';
  @IsUUID() userId: string;
  @IsUUID() orderId: string;
  @IsInt() @Min(0) amount: number;
  @IsInt() @Min(0) creditReserved: number;
  @IsISO8601() releasedAt: string;
}

export class CreditConsumedV1 {
  static readonly type = 'com.example.users.credit-consumed.v1';
  @IsUUID() userId: string;
  @IsUUID() orderId: string;
  @IsInt() @Min(0) amount: number;
  @IsInt() @Min(0) creditReserved: number;
  @IsISO8601() consumedAt: string;
}
