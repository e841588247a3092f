import { VersionedAggregate } from '../../../event-store';
import { CreditReservationNotLoadedError, InvalidUserError, UserAlreadyDeactivatedError, UserDeactivatedError } from './user.errors';
import {
  CreditConsumedEvent,
  CreditRejectedEvent,
  CreditReleasedEvent,
  CreditReservedEvent,
  UserDeactivatedEvent,
  UserEmailChangedEvent,
  UserEvent,
  UserRegisteredEvent,
} from './user.events';

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
  /** The sum of the user's open credit reservations (each in a row of its own: OrderReservations). */
  creditReserved: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Open credit reservations of the orders loaded with a user, by order id: the amount held, or
 * null when that order holds none. Never all of them: a customer may have any number of open
 * orders, and a credit step concerns one, so its cost must not grow with the others
 * (UserRepository.getForOrderCredit loads the one).
 */
export type OrderReservations = Record<string, number | null>;

export interface RegisterUser {
  id: string;
  email: string;
  name: string;
  creditLimit?: number;
}

export class User extends VersionedAggregate<UserEvent> {
  private state: Omit<UserSnapshot, 'version'>;
  /** The reservations this instance knows: loaded with it, or made or closed since. */
  private reservations: OrderReservations = {};
  /** Built from its registration on (events only, no load): every reservation is known. */
  private knowsEveryReservation = false;

  get id(): string {
    return this.state.id;
  }

  get status(): UserStatus {
    return this.state.status;
  }

  static register({ id, email, name, creditLimit = DEFAULT_CREDIT_LIMIT }: RegisterUser, now: Date): User {
    const trimmedName = typeof name === 'string' ? name.trim() : '';
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

  /** The user as its row holds it, with the reservations of the orders loaded with it (see OrderReservations). */
  static restore(snapshot: UserSnapshot, reservations: OrderReservations = {}): User {
    const user = new User();
    const { version, ...state } = snapshot;
    user.state = { ...state, createdAt: new Date(state.createdAt), updatedAt: new Date(state.updatedAt) };
    user.reservations = { ...reservations };
    user.restoreVersion(version);
    return user;
  }

  /**
   * The credit held for `orderId`, or null when it holds none.
   * @throws CreditReservationNotLoadedError when the order's reservation was not loaded with the user
   */
  reservationOf(orderId: string): number | null {
    if (orderId in this.reservations) return this.reservations[orderId];
    if (this.knowsEveryReservation) return null;
    throw new CreditReservationNotLoadedError(this.id, orderId);
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

  /**
   * Holds `amount` of credit for an order, or records why it cannot. Reserving again for the same
   * order changes nothing, so a redelivered saga step is harmless.
   */
  reserveCredit(orderId: string, amount: number, now: Date): void {
    if (!Number.isSafeInteger(amount) || amount < 0) throw new InvalidUserError('a credit amount is a non-negative integer');
    if (this.reservationOf(orderId) !== null) return;
    const rejection =
      this.state.status === 'DEACTIVATED'
        ? 'customer deactivated'
        : this.state.creditReserved + amount > this.state.creditLimit
          ? 'insufficient credit'
          : undefined;
    if (rejection) {
      this.apply(new CreditRejectedEvent({ userId: this.id, orderId, amount, reason: rejection, rejectedAt: now.toISOString() }));
      return;
    }
    this.apply(
      new CreditReservedEvent({
        userId: this.id,
        orderId,
        amount,
        creditReserved: this.state.creditReserved + amount,
        reservedAt: now.toISOString(),
      }),
    );
  }

  /** Gives an order's reservation back; without one (never reserved, released already) a no-op. */
  releaseCredit(orderId: string, now: Date): void {
    const amount = this.reservationOf(orderId);
    if (amount === null) return;
    this.apply(
      new CreditReleasedEvent({
        userId: this.id,
        orderId,
        amount,
        creditReserved: this.state.creditReserved - amount,
        releasedAt: now.toISOString(),
      }),
    );
  }

  /** Turns an order's reservation into a charge when it ships; without one a no-op. */
  consumeCredit(orderId: string, now: Date): void {
    const amount = this.reservationOf(orderId);
    if (amount === null) return;
    this.apply(
      new CreditConsumedEvent({
        userId: this.id,
        orderId,
        amount,
        creditReserved: this.state.creditReserved - amount,
        consumedAt: now.toISOString(),
      }),
    );
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
    this.knowsEveryReservation = true;
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

  protected onCreditReservedEvent(event: CreditReservedEvent): void {
    this.state = {
      ...this.state,
      creditReserved: event.creditReserved,
      updatedAt: new Date(event.reservedAt),
    };
    this.reservations[event.orderId] = event.amount;
  }

  protected onCreditRejectedEvent(event: CreditRejectedEvent): void {
    this.state = { ...this.state, updatedAt: new Date(event.rejectedAt) };
  }

  protected onCreditReleasedEvent(event: CreditReleasedEvent): void {
    this.closeReservation(event.orderId, event.creditReserved, event.releasedAt);
  }

  protected onCreditConsumedEvent(event: CreditConsumedEvent): void {
    this.closeReservation(event.orderId, event.creditReserved, event.consumedAt);
  }

  private closeReservation(orderId: string, creditReserved: number, at: string): void {
    this.state = { ...this.state, creditReserved, updatedAt: new Date(at) };
    this.reservations[orderId] = null;
  }
}

/** Emails are compared case-insensitively, so they are stored lower-cased. */
export function normalizeEmail(email: string): string {
  const normalized = typeof email === 'string' ? email.trim().toLowerCase() : '';
  if (normalized.length > 254 || !EMAIL_PATTERN.test(normalized)) {
    throw new InvalidUserError(`${JSON.stringify(email)} is not an email address`);
  }
  return normalized;
}
