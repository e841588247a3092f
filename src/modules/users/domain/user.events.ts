import { DomainEvent, type StoredEventOf } from '../../../event-store';

export class UserRegisteredEvent extends DomainEvent<{
  userId: string;
  email: string;
  name: string;
  creditLimit: number;
  registeredAt: string;
}> {
  static readonly type = 'UserRegistered';
}

export class UserEmailChangedEvent extends DomainEvent<{
  userId: string;
  previousEmail: string;
  email: string;
  changedAt: string;
}> {
  static readonly type = 'UserEmailChanged';
}

export class UserDeactivatedEvent extends DomainEvent<{
  userId: string;
  deactivatedAt: string;
}> {
  static readonly type = 'UserDeactivated';
}

/** Why a reservation was refused; the order saga rejects the order with this reason. */
export type CreditRejectionReason = 'insufficient credit' | 'customer deactivated';

/** Credit held for one order. `creditReserved` is the user's total after the change. */
export class CreditReservedEvent extends DomainEvent<{
  userId: string;
  orderId: string;
  amount: number;
  creditReserved: number;
  reservedAt: string;
}> {
  static readonly type = 'CreditReserved';
}

export class CreditRejectedEvent extends DomainEvent<{
  userId: string;
  orderId: string;
  amount: number;
  reason: CreditRejectionReason;
  rejectedAt: string;
}> {
  static readonly type = 'CreditRejected';
}

/** A reservation given back: its order was cancelled or closed without confirmation. */
export class CreditReleasedEvent extends DomainEvent<{
  userId: string;
  orderId: string;
  amount: number;
  creditReserved: number;
  releasedAt: string;
}> {
  static readonly type = 'CreditReleased';
}

/** A reservation used up: its order shipped, so the amount is now owed rather than held. */
export class CreditConsumedEvent extends DomainEvent<{
  userId: string;
  orderId: string;
  amount: number;
  creditReserved: number;
  consumedAt: string;
}> {
  static readonly type = 'CreditConsumed';
}

export type UserEvent =
  | UserRegisteredEvent
  | UserEmailChangedEvent
  | UserDeactivatedEvent
  | CreditReservedEvent
  | CreditRejectedEvent
  | CreditReleasedEvent
  | CreditConsumedEvent;

export const USER_EVENT_CLASSES = [
  UserRegisteredEvent,
  UserEmailChangedEvent,
  UserDeactivatedEvent,
  CreditReservedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditConsumedEvent,
] as const;

/** A User stream's stored event: `switch (event.eventType)` narrows its payload. */
export type UserStoredEvent = StoredEventOf<(typeof USER_EVENT_CLASSES)[number]>;

export const USER_STREAM_TYPE = 'User';
