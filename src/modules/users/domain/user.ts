import { VersionedAggregate } from '../../../event-store/versioned-aggregate';
import { InvalidUserError, UserAlreadyDeactivatedError, UserDeactivatedError } from './user.errors';
import { UserDeactivatedEvent, UserEmailChangedEvent, UserEvent, UserRegisteredEvent } from './user.events';

export type UserStatus = 'ACTIVE' | 'DEACTIVATED';

export const DEFAULT_CREDIT_LIMIT = 100_000;
export const MAX_CREDIT_LIMIT = 1_000_000_000_000;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The user's state as its row holds it. */
export interface UserSnapshot {
  id: string;
  email: string;
  name: string;
  status: UserStatus;
  creditLimit: number;
  creditReserved: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface RegisterUser {
  id: string;
  email: string;
  name: string;
  creditLimit?: number;
}

export class User extends VersionedAggregate<UserEvent> {
  private state: Omit<UserSnapshot, 'version'>;

  get id(): string {
    return this.state.id;
  }

  get status(): UserStatus {
    return this.state.status;
  }

  static register({ id, email, name, creditLimit = DEFAULT_CREDIT_LIMIT }: RegisterUser, now: Date): User {
    const trimmedName = name.trim();
    if (trimmedName.length === 0 || trimmedName.length > 200) {
      throw new InvalidUserError('name must have 1 to 200 characters');
    }
    if (!Number.isSafeInteger(creditLimit) || creditLimit < 0 || creditLimit > MAX_CREDIT_LIMIT) {
      throw new InvalidUserError(`creditLimit must be an integer from 0 to ${MAX_CREDIT_LIMIT}`);
    }
    const user = new User();
    user.apply(
      new UserRegisteredEvent({
        userId: id,
        email: normalizeEmail(email),
        name: trimmedName,
        creditLimit,
        registeredAt: now.toISOString(),
      }),
    );
    return user;
  }

  static restore(snapshot: UserSnapshot): User {
    const user = new User();
    const { version, ...state } = snapshot;
    user.state = { ...state, createdAt: new Date(state.createdAt), updatedAt: new Date(state.updatedAt) };
    user.restoreVersion(version);
    return user;
  }

  changeEmail(email: string, now: Date): void {
    this.assertActive();
    const normalized = normalizeEmail(email);
    if (normalized === this.state.email) return;
    this.apply(
      new UserEmailChangedEvent({
        userId: this.id,
        previousEmail: this.state.email,
        email: normalized,
        changedAt: now.toISOString(),
      }),
    );
  }

  deactivate(now: Date): void {
    if (this.state.status === 'DEACTIVATED') throw new UserAlreadyDeactivatedError(this.id);
    this.apply(new UserDeactivatedEvent({ userId: this.id, deactivatedAt: now.toISOString() }));
  }

  snapshot(): UserSnapshot {
    return {
      ...this.state,
      createdAt: new Date(this.state.createdAt),
      updatedAt: new Date(this.state.updatedAt),
      version: this.version + this.getUncommittedEvents().length,
    };
  }

  private assertActive(): void {
    if (this.state.status === 'DEACTIVATED') throw new UserDeactivatedError(this.id);
  }

  protected onUserRegisteredEvent(event: UserRegisteredEvent): void {
    const at = new Date(event.registeredAt);
    this.state = {
      id: event.userId,
      email: event.email,
      name: event.name,
      status: 'ACTIVE',
      creditLimit: event.creditLimit,
      creditReserved: 0,
      createdAt: at,
      updatedAt: at,
    };
  }

  protected onUserEmailChangedEvent(event: UserEmailChangedEvent): void {
    this.state = { ...this.state, email: event.email, updatedAt: new Date(event.changedAt) };
  }

  protected onUserDeactivatedEvent(event: UserDeactivatedEvent): void {
    this.state = { ...this.state, status: 'DEACTIVATED', updatedAt: new Date(event.deactivatedAt) };
  }
}

/** Emails are compared case-insensitively, so they are stored lower-cased. */
export function normalizeEmail(email: string): string {
  const normalized = email.trim().toLowerCase();
  if (normalized.length > 254 || !EMAIL_PATTERN.test(normalized)) {
    throw new InvalidUserError(`${JSON.stringify(email)} is not an email address`);
  }
  return normalized;
}
